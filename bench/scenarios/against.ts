/** With `--against REV`, the plugin as of REV beside the working tree's: before and after, in the same rounds. */
export const BASE_VARIANT = { id: 'plugin-hs256-base', target: 'plugin-hs256-base', baseline: 'bare' } as const
export const BASE_COMPARISON: [string, string, string] = ['plugin-hs256 / plugin-hs256-base', 'plugin-hs256', 'plugin-hs256-base']

/** `variants` with the `--against` revision's plugin after plugin-hs256, when one is given. */
export function withBase<T extends { id: string }> (variants: readonly T[], against: string | undefined, base: T): T[] {
  if (against === undefined) return [...variants]
  const at = variants.findIndex((variant) => variant.id === 'plugin-hs256') + 1
  return [...variants.slice(0, at), base, ...variants.slice(at)]
}
