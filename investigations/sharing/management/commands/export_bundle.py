"""Write a case's STIX 2.1 bundle and its detached signature: `export_bundle CASE_ID --out FILE`.

By default the latest *published* bundle of the case is written (what partners already have, approved
by a lead). `--fresh` builds a new one from the current data instead, for offline delivery by an
operator with shell access; that export is recorded in the audit log as done by the system.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from investigations.models import Case
from investigations.services.audit import audit_record
from investigations.sharing import lint, signing
from investigations.sharing.export import build_export
from investigations.sharing.models import Publication, SharingCommunity, Tlp


class Command(BaseCommand):
    help = "Write a case's STIX bundle to FILE and its detached JWS to FILE.jws."

    def add_arguments(self, parser) -> None:
        parser.add_argument("case_ids", nargs="+", type=int, help="One case, or several exported as one campaign.")
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--community", help="Community name (default: the only one, if there is one).")
        parser.add_argument("--tlp", default=Tlp.AMBER, choices=[t.value for t in Tlp])
        parser.add_argument(
            "--fresh", action="store_true", help="Build from current data instead of the last publication."
        )

    def handle(self, *args, case_ids: list[int], out: Path, community: str | None, tlp: str, fresh: bool, **kw) -> None:
        cases = list(Case.objects.filter(pk__in=case_ids))
        if len(cases) != len(set(case_ids)):
            raise CommandError(f"Unknown case in {case_ids}.")
        communities = SharingCommunity.objects.all()
        if community:
            communities = communities.filter(name=community)
        if communities.count() != 1:
            raise CommandError("Name the community with --community (there is none or more than one).")
        chosen = communities.get()
        scope = ",".join(str(pk) for pk in sorted(case_ids))
        if fresh:
            export = build_export(cases=cases, community=chosen, level=tlp)
            problems = lint.lint_bundle(export.bundle, private_values=export.private_values)
            if problems:
                raise CommandError("The bundle fails the sharing profile: " + "; ".join(problems[:5]))
            bundle, jws = export.bundle, signing.sign(export.bundle)
            audit_record(
                actor=None,
                action="sharing.bundle_exported_cli",
                object_type="sharing.case_scope",
                object_id=scope,
                reason=f"manage.py export_bundle --fresh to {out.name}",
                after={"community": chosen.name, "tlp": tlp, "objects": len(bundle["objects"])},
            )
        else:
            publication = (
                Publication.objects.filter(scope_key=scope, community=chosen, status=Publication.Status.PUBLISHED)
                .order_by("-version")
                .first()
            )
            if publication is None:
                raise CommandError(f"Cases {scope} have no published bundle for {chosen}; use --fresh or publish one.")
            bundle, jws = publication.bundle, publication.jws
        out.write_text(json.dumps(bundle, indent=2, ensure_ascii=False))
        Path(f"{out}.jws").write_text(jws)
        self.stdout.write(f"Wrote {out} ({len(bundle['objects'])} objects) and {out}.jws")
