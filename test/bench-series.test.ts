import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { summarizeSeries } from '../bench/report/series.ts'

// A run's results as series.ts reads them: the Node version, the targets, the scenarios' p99.
function writeRun (dir: string, node: string, ratio: number | null, p99: number): string {
  mkdirSync(dir, { recursive: true })
  const results = {
    machine: { serverNode: { version: node } },
    targets: ratio === null ? [] : [{ name: 'expiry_burst_late_p99_vs_floor', value: ratio }],
    scenarios: [{ id: 'expiry-burst', variants: [{ id: 'plugin-hs256', latencyMs: { p99 } }] }]
  }
  writeFileSync(join(dir, node.startsWith('v20') ? 'latest.json' : 'latest-node24.json'), JSON.stringify(results))
  return dir
}

t.test('a series of partial runs is grouped by label and Node line, with each run\'s value and the median', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'series-'))
  t.teardown(() => { rmSync(root, { recursive: true, force: true }) })
  const before = [writeRun(join(root, 'b1'), 'v20.20.2', 2.5, 700), writeRun(join(root, 'b2'), 'v20.20.2', 2.1, 600), writeRun(join(root, 'b3'), 'v24.22.3', 3, 800)]
  const after = [writeRun(join(root, 'a1'), 'v20.20.2', 1.2, 300), writeRun(join(root, 'a2'), 'v20.20.2', null, 350), writeRun(join(root, 'a3'), 'v20.20.2', 1.0, 310)]
  const groups = summarizeSeries([{ label: 'before', dirs: before }, { label: 'after', dirs: after }], ['expiry_burst_late_p99_vs_floor'], ['expiry-burst:plugin-hs256', 'expiry-burst:bare-close-burst'])
  t.same(groups.map((g) => [g.label, g.node, g.runs]), [['before', 'v20.20.2', 2], ['before', 'v24.22.3', 1], ['after', 'v20.20.2', 3]])
  t.same(groups[0]?.targets.expiry_burst_late_p99_vs_floor, { values: [2.5, 2.1], median: 2.3 })
  t.same(groups[2]?.targets.expiry_burst_late_p99_vs_floor, { values: [1.2, null, 1.0], median: 1.1 }, 'a run that did not measure it is null and left out of the median')
  t.same(groups[2]?.p99Ms['expiry-burst:plugin-hs256'], { values: [300, 350, 310], median: 310 })
  t.same(groups[1]?.p99Ms['expiry-burst:bare-close-burst'], { values: [null], median: null }, 'a variant no run has')
  t.throws(() => summarizeSeries([{ label: 'x', dirs: [root] }], ['a']), /holds no latest\*\.json/)
})
