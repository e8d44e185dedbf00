// Alert queue keyboard and selection: j/k move, x selects, e opens; "select page" ticks every row.
(function () {
  "use strict";
  var current = -1;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#alert-rows tr[data-row]")); }

  function focusRow(i) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(i, all.length - 1));
    all.forEach(function (r, n) { r.classList.toggle("is-current", n === current); });
    all[current].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || event.ctrlKey || event.metaKey || event.altKey) return;
    var all = rows();
    if (!all.length) return;
    if (event.key === "j") { focusRow(current + 1); event.preventDefault(); }
    else if (event.key === "k") { focusRow(current - 1); event.preventDefault(); }
    else if (event.key === "x" && current >= 0) {
      var box = all[current].querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
      event.preventDefault();
    } else if (event.key === "e" && current >= 0) {
      var href = all[current].dataset.href;
      if (href) window.location.href = href;
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "select-page") {
      rows().forEach(function (r) {
        var box = r.querySelector("input[type=checkbox]");
        if (box) box.checked = event.target.checked;
      });
    }
  });

  // A new page of rows arrived: the cursor starts again from the top.
  htmx.onLoad(function (el) { if (el.id === "alert-table") current = -1; });
})();
