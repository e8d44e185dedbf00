"""The cast of a simulated batch: one module per behaviour.

- `ordinary`: individual developers and chat users, each their own operator;
- `campaign`: the machinery every attacker shares (proxy pool, payment cells,
  sign-up bursts, templated harness, task dispatch), configured by
  `harvester`, `agentic` and `cot`;
- `university` and `enterprise`: legitimate multi-account look-alikes.
"""
