"""The leaderboard as one self-contained HTML file: sortable tables and plots, no external asset.

Plots are PNGs drawn with matplotlib and inlined as ``data:`` URIs; the script and style are
inline, and a Content-Security-Policy forbids every other source, so the page opens offline
and can be mailed or hosted as it is. Every name from a result or a paper is HTML-escaped.
Click a column header to sort; ``#sort=<table>:<column>:<asc|desc>`` sorts on load.
"""

from __future__ import annotations

import base64
import html
import io

from handeval.leaderboard.build import Board, cell_text
from handeval.plots import plt

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3;cursor:pointer;user-select:none}
td.name,th.name,td.notes{text-align:left}
tr.reported td{color:#666;font-style:italic}
tr.not-comparable td{background:#f7f7f7}
tr.warned td.name{color:#a60}
.flag{color:#a33}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
"""

_SCRIPT = """
function sortTable(table, col, dir) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
    const nx = x === undefined || x === '' ? NaN : Number(x), ny = y === undefined || y === '' ? NaN : Number(y);
    if (isNaN(nx) && isNaN(ny)) return a.cells[col].textContent.localeCompare(b.cells[col].textContent) * dir;
    if (isNaN(nx)) return 1;
    if (isNaN(ny)) return -1;
    return (nx - ny) * dir;
  });
  rows.forEach(r => body.appendChild(r));
  table.dataset.sorted = col + ':' + (dir > 0 ? 'asc' : 'desc');
}
document.querySelectorAll('table.board').forEach(table => {
  table.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
    const [c, d] = (table.dataset.sorted || '').split(':');
    sortTable(table, col, Number(c) === col && d === 'asc' ? -1 : 1);
  }));
});
const m = /#sort=(\\d+):(\\d+):(asc|desc)/.exec(location.hash);
if (m) sortTable(document.querySelectorAll('table.board')[Number(m[1])], Number(m[2]), m[3] === 'asc' ? 1 : -1);
function imagesReady() {
  const imgs = Array.from(document.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.images = ok + '/' + imgs.length;
}
window.addEventListener('load', imagesReady);
imagesReady();
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _plots(board: Board) -> list[tuple[str, str]]:
    scored = [r for r in board.rows if r.result is not None]
    out = []
    curves = [(r.name, name, c) for r in scored for name, c in r.result.get("curves", {}).items() if c]
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        for method, metric, c in curves:
            ax.plot(c["thresholds_mm"], c["pck"], label=f"{method}: {metric}")
        ax.set(xlabel="threshold (mm)", ylabel="PCK", ylim=(0, 1.02), title="PCK curves")
        ax.legend(fontsize=7)
        out.append(("PCK curves", _png(fig)))
    series = [(r.name, name, s) for r in scored for name, s in r.result.get("series", {}).items()]
    if series:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for method, metric, s in series:
            ax.plot(s["frame"], [float("nan") if v is None else v for v in s["value"]], label=method)
        s0 = series[0][2]
        ax.set(xlabel=f"frame ({s0['sequence']}, camera {s0['camera']})", ylabel=f"{series[0][1]} ({s0['unit']})",
               title="Acceleration error over time")
        ax.legend(fontsize=7)
        out.append(("Acceleration error over time", _png(fig)))
    occ = [(r.name, m, b["fingers"]) for r in scored for m, b in r.result.get("breakdowns", {}).items()
           if "fingers" in b]
    if occ:
        first = occ[0][1]
        rows = [(n, f) for n, m, f in occ if m == first]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        width = 0.38
        for k, state in enumerate(("visible", "occluded")):
            vals = [f.get(state) or 0.0 for _, f in rows]
            ax.bar([i + (k - 0.5) * width for i in range(len(rows))], vals, width, label=f"{state} fingers")
        ax.set_xticks(range(len(rows)), [n for n, _ in rows], rotation=20, fontsize=7)
        ax.set(ylabel=f"{first} ({board.units.get(first, '')})", title="Error by finger occlusion")
        ax.legend(fontsize=7)
        out.append(("Breakdown by finger occlusion", _png(fig)))
    return out


def html_page(boards: list[Board]) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">",
             "<title>handeval leaderboard</title>", f"<style>{_STYLE}</style></head><body>",
             "<h1>handeval leaderboard</h1>",
             "<p>Scored rows were computed by <code>handeval score</code>, with 95% bootstrap intervals in brackets. "
             "<i>Reported</i> rows are numbers printed in the papers, not reproduced. † not comparable (the data or the "
             "MANO model differ from what the protocol pins); ⚠ scored with warnings (a likely hand swap or "
             "camera-frame flip). Click a header to sort.</p>"]
    for i, b in enumerate(boards):
        p = b.protocol
        parts.append(f"<h2 id='board-{i}'>{e(p['name'])} <small>v{e(str(p['version']))}, "
                     f"sha256 {e(p['sha256'][:12])}</small></h2><p>{e(p['title'])}</p>")
        parts.append(f"<table class='board' data-protocol='{e(p['name'])}'><thead><tr>"
                     "<th class='name'>method</th><th class='name'>kind</th>")
        for m in b.metric_names:
            arrow = "↓" if b.lower_is_better[m] else "↑"
            unit = f" ({e(b.units[m])})" if b.units[m] else ""
            parts.append(f"<th title='{'lower' if b.lower_is_better[m] else 'higher'} is better'>{e(m)}{unit} {arrow}</th>")
        parts.append("<th class='name'>notes</th></tr></thead><tbody>")
        for row in b.rows:
            marks = ("" if row.comparable else " not-comparable") + (" warned" if row.warnings else "")
            parts.append(f"<tr class='{row.kind}{marks}'><td class='name'>{e(row.label)}</td>"
                         f"<td class='name'>{row.kind}</td>")
            for m in b.metric_names:
                cell = row.metrics.get(m) or {}
                v = cell.get("value")
                parts.append(f"<td data-value='{'' if v is None else repr(float(v))}'>{e(cell_text(cell))}</td>")
            parts.append(f"<td class='notes'><span class='flag'>{e('; '.join(row.flags))}</span></td></tr>")
        parts.append("</tbody></table>")
        for title, uri in _plots(b):
            parts.append(f"<h3>{e(title)}</h3><img alt='{e(title)}' src='{uri}'>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)
