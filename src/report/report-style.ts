/** The report page's style, inlined in its `<style>` element. Laid out for any width from 360 px up, with no sideways scrolling of the page. */
export const REPORT_CSS = String.raw`
:root { --ok:#2e7d32; --fail:#c62828; --int:#ef6c00; --aband:#6a1b9a; --run:#1565c0; --skip:#9e9e9e; --notrun:#bdbdbd;
  --fg:#1d1d1f; --muted:#666; --line:#ddd; --bg:#fff; --panel:#f6f7f9; --label-w: 220px; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
html { overflow-x: hidden; }
body { margin: 0 auto; padding: 12px 24px 48px; max-width: 1400px; color: var(--fg); background: var(--bg); font-size: 14px; overflow-wrap: anywhere; }
h1 { font-size: 20px; margin: 0 0 8px; word-break: break-word; }
h1 .status { vertical-align: middle; font-size: 13px; }
h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 13px; margin: 14px 0 4px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
a { color: #0b57d0; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: var(--panel); padding: 8px; overflow: auto; max-height: 360px; white-space: pre-wrap; word-break: break-all; margin: 4px 0; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 14px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; min-width: 0; }
.status { display: inline-block; padding: 0 7px; border-radius: 9px; color: #fff; font-size: 12px; line-height: 18px; background: var(--c); }
.s-success { --c: var(--ok); } .s-failed { --c: var(--fail); } .s-interrupted { --c: var(--int); } .s-abandoned { --c: var(--aband); }
.s-running { --c: var(--run); } .s-skipped { --c: var(--skip); } .s-not_run { --c: var(--notrun); } .s-empty { --c: var(--notrun); }
.counts > span { margin-right: 10px; display: inline-block; }
.banner { border: 1px solid var(--c, #f0c36d); border-left: 6px solid var(--c, #f0c36d); background: #fff5f5; border-radius: 4px; padding: 8px 12px; margin: 0 0 12px; }
.banner.warn { background: #fff8e1; }
.banner p { margin: 4px 0; }
.banner-title strong { font-size: 15px; word-break: break-all; }
.banner-reason { font-weight: 600; white-space: pre-wrap; word-break: break-word; }
.banner-error { max-height: 11.5em; background: #fff; border: 1px solid #f3d0d0; margin: 6px 0; }
.banner-links a { font-weight: 600; }
#timeline { border: 1px solid var(--line); max-height: 65vh; overflow: auto; position: relative; }
.g-axis, .g-row { display: grid; grid-template-columns: var(--label-w) minmax(0, 1fr); }
.g-axis { position: sticky; top: 0; background: var(--bg); z-index: 2; border-bottom: 1px solid var(--line); height: 20px; }
.g-ticks { position: relative; overflow: hidden; margin-right: 12px; }
.g-tick { position: absolute; top: 0; height: 20px; border-left: 1px solid var(--line); padding-left: 3px; font-size: 11px; color: var(--muted); white-space: nowrap; }
.g-row { height: 22px; border-bottom: 1px solid #f1f1f1; }
.g-row:hover { background: var(--panel); }
.g-label { padding: 3px 8px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; cursor: pointer; }
.g-track { position: relative; margin-right: 12px; }
.bar { position: absolute; top: 4px; height: 14px; min-width: 3px; border-radius: 3px; background: var(--c); cursor: pointer; }
.bar.s-running { background: repeating-linear-gradient(45deg, var(--run) 0 6px, #64b5f6 6px 12px); }
.bar.s-abandoned { background: repeating-linear-gradient(45deg, var(--aband) 0 4px, #ce93d8 4px 8px); }
.bar.nobar { background: none; border: 1px dashed var(--notrun); color: var(--muted); font-size: 10px; line-height: 12px; padding: 0 4px; width: auto; white-space: nowrap; }
.bar:focus { outline: 2px solid #000; }
#tip { position: fixed; z-index: 10; pointer-events: none; background: #222; color: #fff; padding: 6px 9px; border-radius: 4px; font-size: 12px;
  max-width: min(480px, 90vw); white-space: pre-wrap; word-break: break-all; display: none; }
.heaviest { margin: 4px 0 8px; }
.res-chart { border: 1px solid var(--line); max-height: 50vh; overflow-y: auto; }
.res-row { display: grid; grid-template-columns: minmax(90px, 1.3fr) repeat(3, minmax(0, 1fr)); gap: 8px; align-items: center; height: 22px; padding: 0 6px; border-bottom: 1px solid #f1f1f1; }
.res-row.head { font-weight: 600; background: var(--panel); position: sticky; top: 0; z-index: 1; }
.res-row > span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.res-cell { position: relative; height: 16px; }
.res-bar { position: absolute; left: 0; top: 2px; bottom: 2px; border-radius: 2px; background: #b0bec5; }
.res-cell.wall .res-bar { background: #90caf9; } .res-cell.cpu .res-bar { background: #a5d6a7; } .res-cell.rss .res-bar { background: #ce93d8; }
.res-cell.top .res-bar { outline: 2px solid #37474f; }
.res-text { position: relative; font-size: 11px; padding-left: 3px; line-height: 16px; }
.legend { color: var(--muted); font-size: 12px; }
.legend dt { font-weight: 600; color: var(--fg); }
.flag { display: inline-block; font-size: 11px; padding: 0 5px; border-radius: 3px; margin-right: 4px; border: 1px solid; }
.flag.missing { color: var(--fail); } .flag.untracked { color: var(--int); } .flag.external { color: var(--run); } .flag.modified { color: var(--aband); }
#lineage-note { margin: 4px 0; color: var(--muted); }
#lineage-note.more { color: var(--fg); font-weight: 600; }
#lineage-graph { border: 1px solid var(--line); overflow-x: hidden; overflow-y: auto; max-height: 70vh; background: #fcfcfd; }
#lineage-graph svg { display: block; }
#lineage-graph svg text { font-size: 11px; font-family: ui-monospace, monospace; }
.band-line { stroke: #eceff1; }
.outside-label { fill: var(--muted); font-style: italic; }
.edge { fill: none; stroke: #90a4ae; stroke-width: 1.4; stroke-opacity: .75; }
.edge.untracked { stroke: var(--int); stroke-dasharray: 5 3; }
.edge.missing { stroke: var(--fail); stroke-dasharray: 2 3; }
.edge.modified { stroke: var(--aband); stroke-dasharray: 6 2 2 2; }
.arrowhead { fill: #78909c; }
.edge.hl { stroke: #000; stroke-opacity: 1; stroke-width: 2.2; }
.node rect { stroke: #546e7a; fill: #fff; }
.node.stage rect { fill: var(--c); stroke: none; }
.node.stage text { fill: #fff; }
.node.stage { cursor: pointer; }
.node.file.missing rect { stroke: var(--fail); stroke-dasharray: 3 2; }
.node.file.untracked rect { stroke: var(--int); }
.node.file.external rect { stroke: var(--run); }
.node.file.modified rect { stroke: var(--aband); }
.controls { margin: 8px 0; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.controls input[type=search] { width: min(22em, 100%); }
.hscroll { overflow-x: auto; max-width: 100%; }
.vlist { overflow: auto; position: relative; border: 1px solid var(--line); }
.vinner { position: relative; }
.frow { display: grid; align-items: center; gap: 8px; padding: 0 6px; white-space: nowrap; border-bottom: 1px solid #f1f1f1; left: 0; right: 0; }
.frow > * { overflow: hidden; text-overflow: ellipsis; }
.frow.head { font-weight: 600; background: var(--panel); }
.lin { grid-template-columns: minmax(200px, 3fr) 80px 110px minmax(100px, 1fr) minmax(120px, 2fr) 150px; }
.lin-table { min-width: 820px; }
.ent { grid-template-columns: minmax(200px, 3fr) 70px 80px 110px minmax(140px, 2fr) minmax(80px, 1fr); }
.files { min-width: 760px; }
.s2s { grid-template-columns: 1fr 1fr 90px 1fr; }
.s2s-table { min-width: 520px; }
details.stage { border: 1px solid var(--line); border-left: 5px solid var(--c); margin: 4px 0; border-radius: 3px; min-width: 0; }
details.stage > summary { padding: 5px 8px; cursor: pointer; }
details.stage[open] > summary { background: var(--panel); }
details.stage.highlight { box-shadow: 0 0 0 3px #ffd54f; }
.stage-body { padding: 4px 14px 12px; }
.err { border-left: 3px solid var(--fail); padding-left: 8px; margin: 6px 0; }
.err-head { font-weight: 600; color: var(--fail); white-space: pre-wrap; word-break: break-all; }
table.kv { border-collapse: collapse; max-width: 100%; }
table.kv td { border-bottom: 1px solid #f1f1f1; padding: 2px 10px 2px 0; vertical-align: top; word-break: break-all; }
table.kv td:first-child { color: var(--muted); white-space: nowrap; }
.muted { color: var(--muted); }
.summary-err { color: var(--fail); margin-left: 8px; word-break: break-all; }
.log-entries { border: 1px solid var(--line); max-height: 480px; overflow-y: auto; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.log-entry { display: grid; grid-template-columns: 92px 48px minmax(0, 1fr); gap: 0 8px; padding: 1px 6px; border-bottom: 1px solid #f4f4f4; }
.log-body { white-space: pre-wrap; word-break: break-all; min-width: 0; }
.log-extra { color: var(--muted); }
.log-stack { grid-column: 1 / -1; margin: 2px 0 4px; max-height: 240px; }
.log-time { color: var(--muted); }
.lv-warn { background: #fffbe6; } .lv-warn .log-level { color: var(--int); }
.lv-error { background: #fff1f1; } .lv-error .log-level { color: var(--fail); font-weight: 600; }
.lv-debug { color: var(--muted); }
@media (max-width: 640px) {
  :root { --label-w: 104px; }
  body { padding: 8px 10px 32px; font-size: 13px; }
  h1 { font-size: 17px; }
  dl.facts { grid-template-columns: minmax(0, 1fr); }
  dl.facts dt { margin-top: 4px; }
  .log-entry { grid-template-columns: 48px minmax(0, 1fr); }
  .log-time { display: none; }
  .res-row { grid-template-columns: minmax(70px, 1fr) repeat(3, minmax(0, 1fr)); gap: 4px; }
}
`;
