"""The race chart's two messages to the server that plotly alone cannot send.

Streamlit hears a plotly chart only through point selections, and plotly selects only points
of traces, snapped to the nearest one. So a small script in the page:

* turns a click anywhere on the surface (on a path or not) into the exact data coordinates under
  the pointer, and reports them as a selected point of the figure's ``click-target`` trace
  (app/figures/race.py); a drag is a pan, not a click;
* reports the step the scrubber was moved to (by the visitor, not by playback) as a selected
  point of the ``explained step`` trace, while the step-by-step maths shows one, so that the
  scrubber drives the maths.

app/widgets/start.py reads both back. The script only reads plotly's own axis conversions
(``xaxis.p2l``) and emits the event plotly itself emits on a selection; it acts on figures
whose ``layout.meta.op`` is ``"race"`` and nothing else. It runs in the page's document once.
"""

from __future__ import annotations

import streamlit as st

from app.figures.race import CLICK_TARGET, EXPLAINED, META

BRIDGE_JS = """<script>
(() => {
  const w = (window.parent && window.parent.document) ? window.parent : window;
  if (w.__opBridge) { return; }
  w.__opBridge = true;
  const doc = w.document;
  const race = (el) => {
    const gd = el && el.closest ? el.closest('.js-plotly-plot') : null;
    return gd && gd._fullLayout && gd.layout && gd.layout.meta
      && gd.layout.meta.op === '__OP__' ? gd : null;
  };
  let count = 0;  // each report differs, so that the same point twice is heard twice
  const report = (gd, name, x, y) => {
    const i = gd._fullData.findIndex((t) => t.name === name);
    if (i < 0) { return; }
    count += 1;
    gd.emit('plotly_selected', {points: [{x: x, y: y, curveNumber: i, pointNumber: count,
                                          pointIndex: count}]});
  };
  let down = null;
  doc.addEventListener('mousedown', (e) => {
    const gd = e.button === 0 ? race(e.target) : null;
    down = null;
    if (!gd) { return; }
    const L = gd._fullLayout, xa = L.xaxis, ya = L.yaxis, box = gd.getBoundingClientRect();
    const px = e.clientX - box.left - xa._offset, py = e.clientY - box.top - ya._offset;
    const slider = e.target.closest('.slider-container');
    if (slider) { down = {gd: gd, slider: true}; return; }
    if (px < 0 || px > xa._length || py < 0 || py > ya._length) { return; }
    // the click is ours: plotly must not also select (or deselect) the nearest point
    L.clickmode = 'event';
    down = {gd: gd, x: e.clientX, y: e.clientY, px: px, py: py, t: Date.now()};
  }, true);
  doc.addEventListener('mouseup', (e) => {
    const d = down;
    down = null;
    if (!d) { return; }
    if (d.slider) {  // after plotly has moved the scrubber
      setTimeout(() => {
        const sl = (d.gd._fullLayout.sliders || [])[0];
        const step = sl && sl.steps[sl.active];
        if (step) { report(d.gd, '__EXPLAINED__', Number(step.args[0][0]), 0); }
      }, 60);
      return;
    }
    if (Math.hypot(e.clientX - d.x, e.clientY - d.y) > 4 || Date.now() - d.t > 800) {
      return;  // a drag: plotly pans
    }
    const L = d.gd._fullLayout;
    report(d.gd, '__CLICK__', L.xaxis.p2l(d.px), L.yaxis.p2l(d.py));
  }, true);
})();
</script>"""


def script() -> str:
    """The bridge script with the figure's names filled in."""
    return (
        BRIDGE_JS.replace("__OP__", str(META["op"]))
        .replace("__CLICK__", CLICK_TARGET)
        .replace("__EXPLAINED__", EXPLAINED)
    )


def bridge() -> None:
    """Put the bridge script in the page (once per page; it installs itself once)."""
    st.html(script(), unsafe_allow_javascript=True)
