/* stackext HTML pages. The page is complete without this script; it adds sorting, details on
   click, and on the lab page filtering and the per-stack pictures (drawn from inert text only
   when asked for, so that 10,000 stacks open quickly). Plain ES5 + DOM, no network. */
(function () {
  "use strict";

  function value(row, i, num) {
    var td = row.cells[i];
    if (!td) { return num ? -Infinity : ""; }
    var v = td.getAttribute("data-v");
    if (num) { return v === null ? parseFloat(td.textContent) || 0 : parseFloat(v); }
    return (v === null ? td.textContent : v).toLowerCase();
  }

  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var i = th.cellIndex;
    var num = th.getAttribute("data-sort") === "num";
    var asc = th.getAttribute("aria-sort") === "descending" ||
      (!th.hasAttribute("aria-sort") && !num);
    var heads = th.parentNode.cells;
    for (var k = 0; k < heads.length; k++) { heads[k].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (r, n) { return [value(r, i, num), n, r]; });
    keyed.sort(function (a, b) {
      if (a[0] < b[0]) { return asc ? -1 : 1; }
      if (a[0] > b[0]) { return asc ? 1 : -1; }
      return a[1] - b[1];
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2]); });
    body.appendChild(frag);
  }

  function select(el, cls) {
    var old = document.querySelectorAll("." + cls);
    for (var k = 0; k < old.length; k++) { old[k].classList.remove(cls); }
    if (el) { el.classList.add(cls); }
  }

  function details(g) {
    var section = g.closest("section.stack");
    var panel = section && section.querySelector(".detail");
    var title = g.querySelector("title");
    if (!panel || !title) { return; }
    panel.textContent = title.textContent;
    panel.hidden = false;
    select(g, "sel");
    var row = document.getElementById(g.id.replace(/b([0-9a-f]+)$/, "f$1"));
    if (row) { row.classList.add("sel"); }
  }

  function reveal(id) {
    var section = id && document.getElementById(id);
    if (!section || section.getAttribute("data-drawn")) { return; }
    var src = section.querySelector("script[type='text/x-stackext-section']");
    if (!src) { return; }
    var div = document.createElement("div");
    div.innerHTML = src.textContent;
    var inner = div.firstElementChild;
    while (inner && inner.firstChild) { section.appendChild(inner.firstChild); }
    section.setAttribute("data-drawn", "1");
    var note = section.querySelector(".needs-script");
    if (note) { note.remove(); }
  }

  function fromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    reveal(id);
    var target = id && document.getElementById(id);
    if (target) { target.scrollIntoView(); }
  }

  function filter() {
    var text = (document.getElementById("filter").value || "").toLowerCase();
    var kind = document.getElementById("kind").value;
    var rows = document.getElementById("stacks").tBodies[0].rows;
    var shown = 0;
    for (var k = 0; k < rows.length; k++) {
      var r = rows[k];
      var ok = (!kind || r.getAttribute("data-kind") === kind) &&
        (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.hidden = !ok;
      if (ok) { shown++; }
    }
    document.getElementById("shown").textContent = String(shown);
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!t.closest) { return; }
    var th = t.closest("th[data-sort]");
    if (th) { sortBy(th); return; }
    var g = t.closest("g.blk");
    if (g) { details(g); return; }
    var a = t.closest("a[href^='#']");
    if (a) { reveal(decodeURIComponent(a.getAttribute("href").slice(1))); }
  });
  window.addEventListener("hashchange", fromHash);
  var box = document.getElementById("filter");
  if (box) {
    box.addEventListener("input", filter);
    document.getElementById("kind").addEventListener("change", filter);
    document.querySelector(".controls").hidden = false;
  }
  if (location.hash) { fromHash(); }
})();
