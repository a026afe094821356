"""The leaderboard as one self-contained HTML file: sortable tables and plots, no external asset.

Plots are PNGs drawn with matplotlib and inlined as ``data:`` URIs; the script and style are
inline, and a Content-Security-Policy forbids every other source, so the page opens offline
and can be mailed or hosted as it is. Every name from a result or a paper is HTML-escaped;
protocol titles and notes are inline Markdown, rendered (``inline_markdown``). A wide table
scrolls inside its own box, not the page. Click a column header to sort;
``#sort=<table>:<column>:<asc|desc>`` sorts on load.
"""

from __future__ import annotations

import base64
import html
import re

from handeval.leaderboard.build import Board, cell_text, count_text
from handeval.util.plots import distinct_colours, plt, png_bytes

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3;cursor:pointer;user-select:none}
td.name,th.name,td.notes{text-align:left}
td{white-space:nowrap}
td.notes{white-space:normal;min-width:40em}
tr.reported td{color:#666;font-style:italic}
tr.not-comparable td{background:#f7f7f7}
tr.warned td.name{color:#a60}
.flag{color:#a33}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
.scroll{overflow-x:auto;margin:1em 0}
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
    return "data:image/png;base64," + base64.b64encode(png_bytes(fig, dpi=80)).decode()


def figures(board: Board) -> list[tuple[str, object]]:
    """The board's plots as (title, matplotlib figure): PCK curves, acceleration error over time, and
    the finger-occlusion breakdown where the protocol has one."""
    scored = [r for r in board.rows if r.result is not None]
    out = []
    curves = [(r, name, c) for r in scored for name, c in r.result.curves.items() if c]
    if curves:
        fig, ax = plt.subplots(figsize=(9, 4))
        styles = {name: ("-", "--", ":", "-.")[i % 4] for i, name in enumerate(dict.fromkeys(n for _, n, _ in curves))}
        for colour, (row, metric, c) in zip(distinct_colours(len(curves)), curves):
            ax.plot(c["thresholds_mm"], c["pck"], color=colour, linestyle=styles[metric],
                    label=f"{row.name}: {metric} {row.metrics[metric]['value']:.3f}" if metric.upper() == "AUC"
                    else f"{row.name}: {metric} (AUC {row.metrics[metric]['value']:.3f})")
        ax.set(xlabel="threshold (mm)", ylabel="PCK", ylim=(0, 1.02), title="PCK curves")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the curves, not over them
        out.append(("PCK curves", fig))
    series = [(r.name, name, s) for r in scored for name, s in r.result.series.items()]
    if series:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for colour, (method, metric, s) in zip(distinct_colours(len(series)), series):
            ax.plot(s["frame"], [float("nan") if v is None else v for v in s["value"]], color=colour, label=method)
        s0 = series[0][2]
        ax.set(xlabel=f"frame ({s0['sequence']}, camera {s0['camera']})", ylabel=f"{series[0][1]} ({s0['unit']})",
               title="Acceleration error over time")
        ax.legend(fontsize=7)
        out.append(("Acceleration error over time", fig))
    rows = [r for r in scored if any(r.metrics.get(m, {}).get("value") is not None for m in board.occlusion)]
    if rows:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        width = 0.8 / len(board.occlusion)
        for k, (colour, metric) in enumerate(zip(distinct_colours(len(board.occlusion)), board.occlusion)):
            vals = [r.metrics.get(metric, {}).get("value") for r in rows]
            vals = [float("nan") if v is None else v for v in vals]  # no bar, rather than a bar at 0
            ax.bar([i + (k + 0.5) * width - 0.4 for i in range(len(rows))], vals, width, color=colour, label=metric)
        ax.set_xticks(range(len(rows)), [r.name for r in rows], rotation=20, fontsize=7)
        ax.set(ylabel=board.units[board.occlusion[0]], title="Error by finger occlusion")
        ax.legend(fontsize=7)
        out.append(("Breakdown by finger occlusion", fig))
    return out


def inline_markdown(text: str) -> str:
    """The inline Markdown of titles and notes as HTML: `code`, **strong**, *emphasis*; the rest
    escaped, so no tag or attribute from the text survives."""
    out = []
    for i, part in enumerate(re.split(r"`([^`]+)`", text)):
        part = html.escape(part)
        if i % 2:
            out.append(f"<code>{part}</code>")
            continue
        part = re.sub(r"\*\*(\S(?:.*?\S)??)\*\*", r"<strong>\1</strong>", part)
        out.append(re.sub(r"(?<![*\w])\*(\S(?:.*?\S)??)\*(?![*\w])", r"<em>\1</em>", part))
    return "".join(out)


def _sortable_td(v) -> str:
    return f"<td data-value='{'' if v is None else repr(float(v))}'>"


def html_page(boards: list[Board]) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">",
             "<title>handeval leaderboard</title>", f"<style>{_STYLE}</style></head><body>",
             "<h1>handeval leaderboard</h1>",
             "<p>Scored rows were computed by <code>handeval score</code>, with 95% bootstrap intervals in brackets, "
             "and the frames and views they scored. <i>Reported</i> rows are numbers printed in the papers, not "
             "reproduced. † not comparable (the data or the MANO model differ from what the protocol pins); ⚠ scored "
             "with warnings (a likely hand swap or camera-frame flip). Click a header to sort.</p>"]
    for i, b in enumerate(boards):
        p = b.protocol
        parts.append(f"<h2 id='board-{i}'>{e(p['name'])} <small>v{e(str(p['version']))}, "
                     f"sha256 {e(p['sha256'][:12])}</small></h2><p>{inline_markdown(p['title'])}</p>")
        parts.append(f"<div class='scroll'><table class='board' data-protocol='{e(p['name'])}'><thead><tr>"
                     "<th class='name'>method</th><th class='name'>kind</th><th>frames</th><th>views</th>")
        for m in b.metric_names:
            arrow = "↓" if b.lower_is_better[m] else "↑"
            unit = f" ({e(b.units[m])})" if b.units[m] else ""
            parts.append(f"<th title='{'lower' if b.lower_is_better[m] else 'higher'} is better'>"
                         f"{e(m)}{unit} {arrow}</th>")
        parts.append("<th class='name'>measured speed</th><th class='name'>reported speed (hardware)</th>"
                     "<th class='name'>provenance</th><th class='name'>notes</th></tr></thead><tbody>")
        for row in b.rows:
            marks = ("" if row.comparable else " not-comparable") + (" warned" if row.warnings else "")
            parts.append(f"<tr class='{row.kind}{marks}'><td class='name'>{e(row.label)}</td>"
                         f"<td class='name'>{row.kind}</td>")
            parts += [f"{_sortable_td(n)}{count_text(n)}</td>" for n in (row.frames, row.views)]
            for m in b.metric_names:
                cell = row.metrics.get(m) or {}
                parts.append(f"{_sortable_td(cell.get('value'))}{e(cell_text(cell))}</td>")
            parts += [f"<td class='name'>{e(t or '–')}</td>" for t in (row.speed, row.reported_speed, row.provenance)]
            notes = inline_markdown("; ".join(row.flags))
            parts.append(f"<td class='notes'><span class='flag'>{notes}</span></td></tr>")
        parts.append("</tbody></table></div>")
        for title, fig in figures(b):
            parts.append(f"<h3>{e(title)}</h3><img alt='{e(title)}' src='{_png(fig)}'>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)
