import t from 'tap'
import { familyNames, runFuzz, shares } from '../../fuzz/runner.ts'
import { allFamilies } from '../../fuzz/families/index.ts'
import { randomSeed } from '../../fuzz/seeds.ts'

// The short form of `npm run fuzz` (fuzz/README section in README.md): every family, the
// same invariants as the million-case run, once with a fixed seed and once with a random one
// (printed, and replayable with `npm run fuzz -- --seed S --count N`). FUZZ_SEED replaces the
// random seed; FUZZ_COUNT the number of cases of each run.
const COUNT = Number(process.env.FUZZ_COUNT ?? 4000)
const seeds = [20261202, Number(process.env.FUZZ_SEED ?? randomSeed())]

for (const seed of seeds) {
  t.test(`fuzz, seed ${seed}, ${COUNT} cases`, async (t) => {
    const lines: string[] = []
    const report = await runFuzz({ count: COUNT, seed, shrink: true, log: (line) => lines.push(line) })
    t.comment(`seed ${seed}: ${report.count} cases in ${report.durationMs} ms`)
    for (const failure of report.failures) t.comment(`${failure.message}\n  input: ${failure.input.slice(0, 2000)}\n  shrunk: ${failure.shrunk?.slice(0, 2000) ?? '-'}\n  replay: ${failure.replay}`)
    t.same(report.failures.map((f) => `${f.family} #${f.case} ${f.invariant}`), [], 'no invariant failed (crash, leak, invalid token accepted, reserved frame delivered, undocumented refusal, frame after close)')
    const expected = shares(allFamilies(), COUNT)
    t.same(report.families.map((f) => [f.name, f.cases]), familyNames().map((name, i) => [name, expected[i]]), 'every family ran its share')
    t.equal(report.resources.final.registry, 0, 'no connection left registered')
    t.ok(report.resources.final.handles <= report.resources.baseline.handles + 2, `handles ${report.resources.baseline.handles} -> ${report.resources.final.handles}`)
  })
}
