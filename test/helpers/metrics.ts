// Reading /metrics in tests: the value of one unlabelled series in Prometheus's text format.
import assert from 'node:assert/strict';

export function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `no ${name} in /metrics`);
  return Number(match[1]);
}
