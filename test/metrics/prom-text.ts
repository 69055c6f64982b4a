/** Reading Prometheus text exposition in the metrics tests. */

/** The value of one series (`name{labels}` exactly as exposed) in Prometheus text, or undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (line.slice(0, sp) === series) return Number(line.slice(sp + 1).replace('+Inf', 'Infinity'));
  }
  return undefined;
}
