import type { Report } from './write.ts'

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}.pass{background:#dfd}.fail{background:#fdd}
.notrun{background:#eee}details{margin:.5em 0}pre{margin:0;white-space:pre-wrap}.c{color:#05a}.s{color:#a50}.note{color:#666}`

/** A self-contained page (no script, no external resource): summary table, then each case's timeline. */
export function renderHtml (report: Report): string {
  const rows = report.cases.map((c) => {
    const css = c.status === 'not run' ? 'notrun' : c.status
    return `<tr class="${css}"><td><a href="#case-${escape(c.id)}">${escape(c.id)}</a></td><td>${escape(c.section)}</td><td>${escape(c.title)}</td><td>${escape(c.status)}</td><td>${c.reasons.map(escape).join('<br>')}</td></tr>`
  }).join('\n')
  const details = report.cases.filter((c) => c.status !== 'not run').map((c) => {
    const lines = c.timeline.map((e) => {
      const css = e.direction === 'c→s' ? 'c' : e.direction === 's→c' ? 's' : 'note'
      return `<span class="${css}">${String(e.t).padStart(6)} ms ${escape(e.direction)} ${escape(e.kind).padEnd(9)} ${escape(e.detail)}</span>`
    }).join('\n')
    return `<details id="case-${escape(c.id)}"${c.status === 'fail' ? ' open' : ''}><summary><b>${escape(c.id)}</b> ${escape(c.title)}: <b>${escape(c.status)}</b></summary>
<p><i>Pass rule:</i> ${escape(c.rule)}</p>${c.reasons.length === 0 ? '' : `<p><i>Why it failed:</i> ${c.reasons.map(escape).join('; ')}</p>`}<pre>${lines}</pre></details>`
  }).join('\n')
  const { pass, fail, notRun } = report.summary
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wsauth.v1 conformance: ${escape(report.subject)}</title><style>${STYLE}</style></head><body>
<h1>wsauth.v1 conformance, ${report.mode} grading</h1><p>${escape(report.subject)}, ${escape(report.generatedAt)}: <b>${pass} passed, ${fail} failed, ${notRun} not run</b>.</p>
<table><tr><th>case</th><th>SPEC section</th><th>title</th><th>result</th><th>why</th></tr>
${rows}</table>
<h2>Timelines</h2><p>Times in ms from the start of the case. ${report.mode === 'client' ? 'c→s: what the client under test did; s→c: what the kit did' : 'c→s: what the grader did; s→c: what the server under test did'}.</p>
${details}
</body></html>
`
}
