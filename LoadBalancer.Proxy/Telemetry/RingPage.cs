namespace LoadBalancer.Proxy.Telemetry;

/// <summary>
/// The live ring page: one self-contained HTML document (inline CSS, JS and SVG, nothing fetched but <c>/ring</c>) that
/// draws each server's arcs of the hash space and its load, polling <c>/ring</c> every second.
/// </summary>
internal static class RingPage
{
    public const string Html = """
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LoadBalancer ring</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: light dark; --bg:#f7f7f9; --fg:#1d1d24; --muted:#6b6b78; --card:#fff; --line:#dcdce3; }
  @media (prefers-color-scheme: dark) { :root { --bg:#16161c; --fg:#ececf1; --muted:#9a9aa8; --card:#20202a; --line:#33333f; } }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
  header { padding:12px 20px; border-bottom:1px solid var(--line); display:flex; gap:24px; align-items:baseline; flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0; }
  .muted { color:var(--muted); }
  main { display:flex; gap:20px; padding:20px; flex-wrap:wrap; align-items:flex-start; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px; }
  svg { display:block; }
  table { border-collapse:collapse; min-width:560px; }
  th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { font-weight:600; color:var(--muted); font-size:12px; text-transform:uppercase; }
  td.num { text-align:right; font-variant-numeric:tabular-nums; }
  .swatch { display:inline-block; width:12px; height:12px; border-radius:3px; margin-right:6px; vertical-align:-1px; }
  .badge { padding:1px 8px; border-radius:10px; font-size:12px; }
  .ok { background:#1f9d5533; color:#1f9d55; } .down { background:#d6453d33; color:#d6453d; }
  .bar { height:10px; border-radius:5px; min-width:1px; }
  .barcell { width:150px; }
  #error { color:#d6453d; }
</style>
</head>
<body>
<header>
  <h1>LoadBalancer ring</h1>
  <span id="summary" class="muted">loading…</span>
  <span id="remap" class="muted"></span>
  <span id="error"></span>
</header>
<main>
  <div class="card">
    <svg id="ring" width="360" height="360" viewBox="-180 -180 360 360" role="img" aria-label="hash ring">
      <circle r="150" fill="none" stroke="var(--line)" stroke-width="28"></circle>
      <circle r="108" fill="none" stroke="var(--line)" stroke-width="16"></circle>
      <g id="arcs"></g>
      <g id="load"></g>
      <text id="center" text-anchor="middle" dy="6" font-size="16" fill="currentColor"></text>
    </svg>
    <div class="muted" style="text-align:center;max-width:360px">Outer ring: the hash space, each arc colored by the server that
      owns it (grey: held out of routing); a key goes clockwise to the next point. Inner ring: each server's share of the requests served.</div>
  </div>
  <div class="card">
    <table>
      <thead><tr><th>Server</th><th>Health</th><th>Points</th><th>Hash share</th><th>Served</th><th>Req/s</th><th>In flight</th><th>Load</th></tr></thead>
      <tbody id="servers"></tbody>
    </table>
  </div>
</main>
<script>
(() => {
  const palette = ["#4e79a7","#f28e2b","#59a14f","#e15759","#76b7b2","#edc948","#b07aa1","#ff9da7","#9c755f","#bab0ac"];
  const color = i => i < palette.length ? palette[i] : `hsl(${(i * 137.5) % 360} 60% 55%)`;
  const ns = "http://www.w3.org/2000/svg";
  let version = -1, points = [], previous = null;

  const pct = x => (x * 100).toFixed(1) + "%";
  const el = (tag, attrs, parent) => { const e = document.createElementNS(ns, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); parent.appendChild(e); return e; };
  const polar = (f, r) => [r * Math.sin(2 * Math.PI * f), -r * Math.cos(2 * Math.PI * f)];

  function arc(g, from, to, fill, title, r = 150, w = 28) {
    if (to - from <= 0) return;
    const big = to - from > 0.5 ? 1 : 0;
    if (to - from >= 0.9999) { to = from + 0.9999; }
    const [x1, y1] = polar(from, r + w / 2), [x2, y2] = polar(to, r + w / 2);
    const [x3, y3] = polar(to, r - w / 2), [x4, y4] = polar(from, r - w / 2);
    const p = el("path", { d: `M${x1} ${y1} A${r + w / 2} ${r + w / 2} 0 ${big} 1 ${x2} ${y2} L${x3} ${y3} A${r - w / 2} ${r - w / 2} 0 ${big} 0 ${x4} ${y4} Z`, fill }, g);
    el("title", {}, p).textContent = title;
  }

  function drawRing(report) {
    const g = document.getElementById("arcs");
    g.replaceChildren();
    const servers = report.servers;
    const fill = i => servers[i].healthy ? color(i) : "#8888";
    if (points.length > 0) {
      // A point owns the arc from its predecessor up to itself.
      for (let i = 0; i < points.length; i++) {
        const prev = i === 0 ? points[points.length - 1].position - 1 : points[i - 1].position;
        const owner = points[i].server;
        if (prev < 0) { arc(g, prev + 1, 1, fill(owner), servers[owner].name); arc(g, 0, points[i].position, fill(owner), servers[owner].name); }
        else arc(g, prev, points[i].position, fill(owner), servers[owner].name);
      }
    } else {
      let at = 0;
      servers.forEach((m, i) => { arc(g, at, at + m.share, fill(i), m.name); at += m.share; });
    }
    const load = document.getElementById("load");
    load.replaceChildren();
    if (report.served > 0) {
      let at = 0;
      servers.forEach((m, i) => { const f = m.served / report.served; arc(load, at, at + f, color(i), `${m.name}: ${pct(f)} of requests`, 108, 16); at += f; });
    }
    document.getElementById("center").textContent = `${report.healthy}/${report.total} healthy`;
  }

  function drawTable(report, rates) {
    const body = document.getElementById("servers");
    body.replaceChildren();
    const max = Math.max(1, ...report.servers.map(m => m.served));
    report.servers.forEach((m, i) => {
      const tr = document.createElement("tr");
      tr.dataset.server = m.name;
      tr.dataset.healthy = m.healthy;
      tr.innerHTML =
        `<td><span class="swatch" style="background:${color(i)}"></span><span class="name"></span> <span class="muted addr"></span></td>` +
        `<td><span class="badge ${m.healthy ? "ok" : "down"}">${m.healthy ? "healthy" : "down: " + m.unavailable.join(", ")}</span></td>` +
        `<td class="num">${m.virtualNodes ?? "–"}</td><td class="num">${pct(m.share)}</td>` +
        `<td class="num served">${m.served}</td><td class="num">${rates ? rates[i].toFixed(1) : "–"}</td><td class="num">${m.inFlight}</td>` +
        `<td class="barcell"><div class="bar" style="width:${(100 * m.served / max).toFixed(1)}%;background:${color(i)}"></div></td>`;
      tr.querySelector(".name").textContent = m.name;
      tr.querySelector(".addr").textContent = m.address;
      body.appendChild(tr);
    });
  }

  async function refresh() {
    try {
      const response = await fetch("/ring?points=false", { headers: { Accept: "application/json" }, cache: "no-store" });
      const report = await response.json();
      if (report.version !== version) {
        const full = await (await fetch("/ring", { headers: { Accept: "application/json" }, cache: "no-store" })).json();
        points = full.points || [];
        version = report.version;
      }
      const now = performance.now();
      let rates = null;
      if (previous && previous.version === report.version) {
        const seconds = (now - previous.at) / 1000;
        rates = report.servers.map((m, i) => Math.max(0, (m.served - previous.served[i]) / seconds));
      }
      previous = { version: report.version, at: now, served: report.servers.map(m => m.served) };
      document.getElementById("summary").textContent =
        `v${report.version} · ${report.table} · ${report.hashFunction} · ${report.healthy}/${report.total} healthy · ${report.served} served`;
      document.getElementById("remap").textContent = report.lastRemap
        ? `last change v${report.lastRemap.from}→v${report.lastRemap.to}: ${pct(report.lastRemap.share)} of keys remapped` : "";
      document.getElementById("error").textContent = "";
      drawRing(report);
      drawTable(report, rates);
      document.body.dataset.version = report.version;
    } catch (e) {
      document.getElementById("error").textContent = "cannot reach /ring: " + e;
    }
  }

  refresh();
  setInterval(refresh, 1000);
})();
</script>
</body>
</html>
""";
}
