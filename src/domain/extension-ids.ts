import { randomInt } from 'node:crypto';

// Elastic's extension ids are random 10-digit decimal strings (e.g. "2536123203", docs/client-compatibility.md, "Extension ids").
// Clients treat ids as opaque, so only the server needs to care about the shape.
export function newExtensionId(): string {
  return String(randomInt(1_000_000_000, 10_000_000_000));
}

export function repoUrl(id: string): string {
  return `repo://${id}`;
}
