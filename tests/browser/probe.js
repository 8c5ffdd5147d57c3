// Measures a page as the browser laid it out, and appends the result as JSON in a
// preformatted element with the id "probe"; the test reads it from the DOM Chromium dumps. Glyphs: each distinct
// letter of a heading is drawn alone on a canvas in the heading's own font stack; real
// glyphs give many different shapes, none like the box a missing glyph gets (measured
// on code points no font has).
(() => {
  const size = 64;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  // every distinct character that draws on its own: not spaces, punctuation, format marks
  // (the Mongolian vowel separator) or nonspacing marks (its free variation selectors);
  // unassigned code points stay, so that the control can fail
  const drawable = /[^\p{Z}\p{P}\p{Cc}\p{Cf}\p{Mn}\s]/u;
  const letters = (text) => [...new Set([...text].filter((ch) => drawable.test(ch)))];
  const shape = (ch, font) => {
    g.clearRect(0, 0, size, size);
    g.font = `40px ${font}`;
    g.textBaseline = "top";
    g.fillStyle = "#000";
    g.fillText(ch, 8, 8);
    const data = g.getImageData(0, 0, size, size).data;
    const on = [];
    for (let i = 3; i < data.length; i += 4) if (data[i] > 127) on.push(i >> 2);
    return on.join(",");
  };
  const missing = [0x0378, 0x0379, 0x0380, 0x0381, 0x0382, 0x0383, 0x038b, 0x038d]
    .map((c) => String.fromCodePoint(c));
  const glyphs = (chars, font) => {
    const tofu = new Set(missing.map((ch) => shape(ch, font)));
    const shapes = chars.map((ch) => shape(ch, font));
    return {
      letters: chars.length,
      shapes: new Set(shapes).size,
      inked: shapes.filter((s) => s.length > 0).length,
      like_missing: shapes.filter((s) => tofu.has(s)).length,
      missing_shapes: tofu.size,
    };
  };
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return { width: r.width, height: r.height };
  };
  const out = { headings: [], tables: [], chart: null };
  // the style sheet's font stacks as the browser took them (a malformed one is dropped)
  out.fonts = {
    body: getComputedStyle(document.body).fontFamily,
    mn: [...document.querySelectorAll(".mn")].map((el) => getComputedStyle(el).fontFamily)[0],
  };
  for (const el of document.querySelectorAll("h1[lang], h2[lang], .mn[lang], .mn-inline")) {
    const style = getComputedStyle(el);
    out.headings.push({
      tag: el.tagName.toLowerCase(),
      lang: el.lang || "mn-Mong",
      text: el.textContent,
      writing: style.writingMode,
      ...box(el),
      ...glyphs(letters(el.textContent), style.fontFamily),
    });
  }
  for (const t of document.querySelectorAll("table")) {
    out.tables.push({ cls: t.className, rows: t.rows.length, ...box(t) });
  }
  const svg = document.querySelector("svg.chart");
  if (svg) {
    const bars = [...svg.querySelectorAll("rect")].filter((r) => r.getBBox().width > 0);
    const labels = [...svg.querySelectorAll("text.township")];
    out.chart = {
      ...box(svg),
      bars: bars.length,
      colours: [...new Set(bars.map((r) => r.getAttribute("fill")))],
      labels: labels.map((t) => t.textContent),
      label_width: Math.min(...labels.map((t) => t.getBBox().width)),
      label_glyphs: glyphs(letters(labels.map((t) => t.textContent).join("")),
        getComputedStyle(svg).fontFamily),
    };
  }
  const below = document.getElementById("below");
  if (below) {
    const items = [...below.querySelectorAll("li")];
    out.callout = {
      ...box(below),
      top: below.getBoundingClientRect().top,
      chart_top: svg ? svg.getBoundingClientRect().top : null,
      items: items.map((li) => ({ text: li.textContent, ...box(li) })),
    };
  }
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
