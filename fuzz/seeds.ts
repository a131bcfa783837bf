/** A case's own seed: from the run's seed, the family and the case index (FNV-1a, then a mix). */
export function caseSeed (seed: number, family: string, index: number): number {
  let h = 0x811c9dc5 ^ seed
  const text = `${family}:${index}`
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h | 0
}

export function randomSeed (): number {
  return (Math.random() * 2 ** 31) | 0
}
