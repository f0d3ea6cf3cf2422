/* stackext HTML pages. The page is complete without this script; it adds sorting, details on
   click, and on the lab page filtering and the per-stack pictures (drawn from gzip'd JSON only
   when asked for, so that 10,000 stacks open quickly). Plain ES5 + DOM, no network. */
(function () {
  "use strict";

  function value(row, i, num) {
    var cell = row.children[i];
    if (!cell) { return num ? -Infinity : ""; }
    var v = cell.getAttribute("data-v");
    if (num) { return v === null ? parseFloat(cell.textContent) || 0 : parseFloat(v); }
    return (v === null ? cell.textContent : v).toLowerCase();
  }

  // A click on a column head sorts a <table> (its tbody) or the lab's grid of rows (#stacks).
  function sortBy(th) {
    var table = th.closest("table");
    var body = table ? table.tBodies[0] : th.closest("[role=table]");
    var i = Array.prototype.indexOf.call(th.parentNode.children, th);
    var num = th.getAttribute("data-sort") === "num";
    var asc = th.getAttribute("aria-sort") === "descending" ||
      (!th.hasAttribute("aria-sort") && !num);
    var heads = th.parentNode.children;
    for (var k = 0; k < heads.length; k++) { heads[k].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.filter.call(body.children, function (r) {
      return !r.classList.contains("head");
    });
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

  // -- the lab page: a stack's section drawn from its gzip'd JSON when asked for ----------------

  var SVGNS = "http://www.w3.org/2000/svg";

  function el(ns, tag, attrs, text) {
    var e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function svgEl(tag, attrs, text) { return el(SVGNS, tag, attrs, text); }

  function titled(e, text) {
    if (text) { e.appendChild(svgEl("title", {}, text)); }
    return e;
  }

  function hex2(n) { return (n < 16 ? "0" : "") + n.toString(16); }
  function fmt(n) { return n === null ? "?" : n.toLocaleString("en-US"); }
  function r3(v) { return Math.round(v * 1000) / 1000; }

  function rowTitle(cell) {
    if (!cell) { return null; }
    var lines = ["#" + hex2(cell[2]) + " " + cell[7],
                 cell[3] === null ? "size unknown" : "size " + fmt(cell[3]) + " bytes"];
    if (cell[4] !== null) { lines.push("depth " + fmt(cell[4]) + " bytes below StackBase"); }
    if (cell[6]) { lines.push(cell[6]); }
    return lines.join("\n");
  }

  // One display-list primitive (html_picture.primitives) as SVG: the same elements as the
  // Python side's _markup.
  function primitive(p, sid, cells) {
    var g;
    switch (p[0]) {
      case "b":
        g = svgEl("g", {"class": p[1], "data-bytes": p[7]});
        if (p[6] !== null) {
          g.setAttribute("data-frame", p[6]);
          g.id = p[8] || sid + "b" + hex2(p[6]);
        }
        titled(g, p[9] || (p[6] !== null ? rowTitle(cells[p[6]]) : null));
        g.appendChild(svgEl("rect", {x: p[2], y: p[3], width: p[4], height: p[5]}));
        if (p[10] !== null) {
          g.appendChild(svgEl("text", {x: r3(p[2] + 4), y: r3(p[3] + Math.min(p[5], 24) / 2 + 4)},
                              p[10]));
        }
        return g;
      case "r": return titled(svgEl("rect", {"class": p[1], x: p[2], y: p[3], width: p[4],
                                              height: p[5]}), p[6]);
      case "t": return svgEl("text", {"class": p[1], x: p[2], y: p[3]}, p[4]);
      case "l": return titled(svgEl("line", {"class": p[1], x1: p[2], y1: p[3], x2: p[4],
                                             y2: p[5]}), p[6]);
      case "p": return titled(svgEl("path", {"class": p[1], d: p[2]}), p[3]);
      case "n":
        g = svgEl("g", {"class": "lbl " + p[1]});
        g.appendChild(svgEl("line", {x1: p[2], y1: p[3], x2: r3(p[2] + 14), y2: r3(p[4] - 4)}));
        g.appendChild(svgEl("text", {x: r3(p[2] + 16), y: p[4]}, p[5]));
        return g;
      default:  // "c": a repeated call cycle
        g = titled(svgEl("g", {"class": "cycle"}), p[5]);
        g.appendChild(svgEl("rect", {x: p[1], y: p[2], width: 10, height: p[3]}));
        g.appendChild(svgEl("text", {x: r3(p[1] - 14), y: r3(p[2] - 3)}, "\u00d7" + p[4]));
        return g;
    }
  }

  function picture(pic, sid, cells) {
    var svg = svgEl("svg", {"class": "pic", width: pic.w, height: pic.h, "data-scale": pic.scale,
                            role: "img", "aria-label": pic.label});
    pic.p.forEach(function (p) { svg.appendChild(primitive(p, sid, cells)); });
    return svg;
  }

  // The frame table from html.frame_cells (the Python side's frame_rows makes the same).
  function frameTable(frames) {
    var table = el(null, "table", {"class": "sortable frames"});
    var head = table.createTHead().insertRow();
    ["#", "size", "depth", "share of budget", "notes", "call site"].forEach(function (h, i) {
      head.appendChild(el(null, "th", {"data-sort": i < 4 ? "num" : "text"}, h));
    });
    var body = table.createTBody();
    frames.forEach(function (c) {
      var tr = el(null, "tr", {id: c[0], "class": c[1]});
      var cells = [[c[2], hex2(c[2])], [c[3] === null ? -1 : c[3], fmt(c[3])],
                   [c[4] === null ? -1 : c[4], c[4] === null ? "" : fmt(c[4])],
                   [c[5] === null ? -1 : c[5], ""], [null, c[6]], [null, c[7]]];
      cells.forEach(function (v, i) {
        var td = el(null, "td", {"data-v": v[0]}, v[1]);
        if (i === 3 && c[5] !== null) {
          td.appendChild(el(null, "span", {"class": "bar", style: "width:" +
                                           Math.min(c[5], 100).toFixed(1) + "%"}));
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    return table;
  }

  function inflate(b64) {
    var bin = atob(b64.trim());
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  var stackData = null;

  function dataLine(k) {
    if (stackData === null) {
      var src = document.getElementById("stack-data");
      stackData = src ? src.textContent.split("\n").filter(function (x) { return x; }) : [];
    }
    return stackData[k];
  }

  function section(id, data) {
    var cells = {};
    data.frames.forEach(function (c) { cells[c[2]] = c; });
    var sec = el(null, "section", {"class": "stack", id: id});
    var facts = el(null, "ul", {"class": "facts"});
    data.facts.forEach(function (f) { facts.appendChild(el(null, "li", {}, f)); });
    var wrap = el(null, "div", {"class": "picwrap"});
    wrap.appendChild(picture(data.pic, id, cells));
    var legend = document.getElementById("legend");
    [el(null, "h2", {}, data.source), el(null, "p", {"class": "verdict " + data.kind},
                                         data.headline),
     facts, wrap, legend ? legend.cloneNode(true) : null,
     el(null, "pre", {"class": "detail", hidden: ""}),
     el(null, "h3", {}, "Frames (innermost first)"), frameTable(data.frames)
    ].forEach(function (p) {
      if (p) { p.removeAttribute("id"); sec.appendChild(p); }
    });
    sec.id = id;
    return sec;
  }

  // Draw stack `id` ("s12") of the lab page from its line of data, once; resolves to its section.
  function reveal(id) {
    var done = id && document.getElementById(id);
    var m = /^s(\d+)$/.exec(id || "");
    var views = document.getElementById("stack-views");
    var line = m && views && dataLine(parseInt(m[1], 10));
    if (done || !line) { return Promise.resolve(done || null); }
    return inflate(line).then(function (data) {
      if (!document.getElementById(id)) { views.appendChild(section(id, data)); }
      return document.getElementById(id);
    });
  }
  window.stackextReveal = reveal;

  function fromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    reveal(id).then(function (target) { if (target) { target.scrollIntoView(); } });
  }

  function filter() {
    var text = (document.getElementById("filter").value || "").toLowerCase();
    var kind = document.getElementById("kind").value;
    var rows = document.querySelectorAll("#stacks > .r[data-kind]");
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
    var th = t.closest("[data-sort]");
    if (th) { sortBy(th); return; }
    var g = t.closest("g.blk");
    if (g) { details(g); return; }
    var a = t.closest("a[href^='#s']");
    if (a) {
      e.preventDefault();
      var id = decodeURIComponent(a.getAttribute("href").slice(1));
      reveal(id).then(function (target) {
        if (target) { history.pushState(null, "", "#" + id); target.scrollIntoView(); }
      });
    }
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
