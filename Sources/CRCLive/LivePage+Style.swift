extension LivePage {
    /// The page's style: the tree, the dots (coloured by message type, as in the report), the
    /// diagram, the panes.
    static let style = #"""
:root{--bg:#fff;--fg:#1d2330;--muted:#6b7280;--line:#c9ced6;--panel:#f5f6f8}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header{display:flex;gap:14px;align-items:center;padding:8px 16px;border-bottom:1px solid var(--line);flex-wrap:wrap}
header h1{font-size:18px;margin:0}
header .status{color:var(--muted)}
button,select,input{font:inherit}
button{padding:3px 9px;border:1px solid #aab;border-radius:5px;background:#fff;cursor:pointer}
button:disabled{opacity:.45;cursor:default}
button.on{background:#1d4ed8;color:#fff;border-color:#1d4ed8}
main{display:grid;grid-template-columns:minmax(420px,3fr) minmax(300px,2fr);gap:12px;padding:12px 16px}
section{background:var(--panel);border-radius:8px;padding:10px 12px;min-width:0}
section h2{font-size:15px;margin:0 0 6px}
#treebox{overflow:auto}
svg text{font-size:12px;text-anchor:middle;pointer-events:none}
.edge{stroke:#8b93a1;stroke-width:2}
.edge.cut{stroke:#dc2626;stroke-dasharray:6 4}
.edge.delayed{stroke:#d97706;stroke-dasharray:2 3;stroke-width:3}
.delaylabel{fill:#b45309;font-size:11px}
.edge.hl{stroke:#f59e0b;stroke-width:5}
.node rect{fill:#dbeafe;stroke:#1d4ed8;stroke-width:1.5}
.node circle{fill:#dcfce7;stroke:#15803d;stroke-width:1.5}
.node.foreign rect{fill:#fde68a;stroke:#b45309}
.node.down rect,.node.down circle{fill:#eee;stroke:#aaa;stroke-dasharray:3 3}
.node.down text{fill:#999}
.node.sel rect,.node.sel circle{stroke-width:4}
.node{cursor:pointer}
.id{fill:var(--muted);font-size:10px}
.dot{stroke:#fff;stroke-width:1}.dot.reordered{stroke:#222;stroke-width:3}
.server_registration{fill:#2563eb;stroke:#2563eb}.client_registration{fill:#16a34a;stroke:#16a34a}
.chat{fill:#db2777;stroke:#db2777}.status{fill:#ea580c;stroke:#ea580c}
.client_quit{fill:#7c3aed;stroke:#7c3aed}.server_quit{fill:#4b5563;stroke:#4b5563}
.closed,.undecodable{fill:#111;stroke:#111}
.key{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-size:12px;margin-right:3px}
.key.server_registration{background:#2563eb}.key.client_registration{background:#16a34a}.key.chat{background:#db2777}
.key.status{background:#ea580c}.key.client_quit{background:#7c3aed}.key.server_quit{background:#4b5563}
#log{height:220px;overflow:auto;font:12px/1.4 ui-monospace,monospace;background:#fff;border:1px solid var(--line);padding:6px;white-space:pre-wrap}
#log .convergence{color:#a21caf}#log .faults{color:#b91c1c}#log .joins{color:#15803d}#log .chats{color:#0e7490}
#log .command{font-weight:bold}#log .line{color:#1d2330}#log .error{color:#b91c1c;font-weight:bold}
#st{height:300px;overflow:auto;background:#fff;border:1px solid var(--line)}
#st line.msg{stroke-width:1.6}#st line.msg.reordered{stroke-width:3;stroke-dasharray:6 2}
#st line.life{stroke:#d1d5db}
#st line.cur{stroke-width:4}
#st text{font-size:11px;text-anchor:start}
#detail{font:12px/1.4 ui-monospace,monospace;white-space:pre-wrap;background:#fff;border:1px solid var(--line);padding:6px;min-height:60px;max-height:240px;overflow:auto}
.controls{display:flex;gap:6px;flex-wrap:wrap;align-items:center;margin:6px 0}
#cmd{flex:1;min-width:160px}
#runs table{border-collapse:collapse;width:100%}
#runs td,#runs th{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left}
.pass{color:#15803d;font-weight:bold}.fail{color:#b91c1c;font-weight:bold}.session{color:var(--muted)}
#banner{padding:6px 16px;background:#fef3c7;display:none}
#chats li{cursor:pointer;margin-bottom:4px}
#chats .exp{color:var(--muted)}
.hidden{display:none!important}
"""# + "\n"
}
