import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CaseResult } from '../server/case-run.ts'
import { renderHtml } from './html.ts'

export interface Report {
  /** `client` (client grading) or `server` (server grading). */
  mode: 'client' | 'server'
  /** What was graded: the agent name, or the server's URL. */
  subject: string
  generatedAt: string
  summary: { pass: number, fail: number, notRun: number }
  cases: CaseResult[]
}

export function buildReport (mode: Report['mode'], subject: string, cases: CaseResult[]): Report {
  const count = (status: CaseResult['status']): number => cases.filter((c) => c.status === status).length
  return { mode, subject, generatedAt: new Date().toISOString(), summary: { pass: count('pass'), fail: count('fail'), notRun: count('not run') }, cases }
}

/** Writes report.json and report.html into `directory`. */
export function writeReport (directory: string, report: Report): void {
  mkdirSync(directory, { recursive: true })
  writeFileSync(join(directory, 'report.json'), JSON.stringify(report, null, 2) + '\n')
  writeFileSync(join(directory, 'report.html'), renderHtml(report))
}
