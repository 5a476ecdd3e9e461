"""Parses an SVG file as XML (exit 1 with the parser's message if it is not
well-formed) and prints what the viz tests check, as one JSON object:
panels (class="panel" groups with their data-* attributes), the number of
vertices of every series polyline keyed "run/series", markers, texts."""
import json
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except ET.ParseError as e:
    print(f"not well-formed XML: {e}", file=sys.stderr)
    sys.exit(1)

panels, series, texts, markers, cells = [], {}, [], 0, 0
for e in root.iter():
    tag = e.tag.split('}')[-1]
    cls = e.get('class', '')
    if cls == 'panel':
        panels.append({k[5:]: v for k, v in e.attrib.items() if k.startswith('data-')})
        cells += sum(1 for c in e.iter() if c.tag.endswith('rect') and c.get('fill', '').startswith('#'))
    if tag == 'polyline' and cls == 'series':
        series[e.get('data-run') + '/' + e.get('data-series')] = len(e.get('points').split())
    if tag == 'circle' and cls == 'marker':
        markers += 1
    if tag == 'text':
        texts.append(e.text or '')
print(json.dumps({'root': root.tag, 'width': root.get('width'), 'height': root.get('height'),
                  'panels': panels, 'series': series, 'markers': markers, 'texts': texts,
                  'cells': cells}))
