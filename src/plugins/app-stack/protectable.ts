/**
 * Discovery and graph edges of `app.stack`. A stack's resource is the stack (id = its name); its
 * dependents are its roots (members that depend on nothing). The edges between members come from the
 * same protectable: its parent types also hold every member type something depends on, so the core
 * asks it for the dependents of those resources too, and it answers with the members whose depends_on
 * names the parent's ref. It returns resources of other plugins' types, which api.ts allows for this
 * (the core refuses a dependent whose type the provider does not protect).
 *
 * The edges are keyed on refs, not on the stack a resource was reached from (the core tells a
 * protectable nothing about the path): in a provider that lists app.stack, every plan holding
 * `postgres.database#main/shop` also gets the members that depend on it, as a plan holding a
 * postgres.server gets its databases.
 */
import { resourceRef, type ProtectableContext, type ProtectablePlugin, type Resource } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { APP_STACK } from './options.js';
import type { Stack, StackMember } from './options.js';

const byRef = (a: { ref: string }, b: { ref: string }): number => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);
const memberResource = (m: StackMember): Resource => ({ type: m.type, id: m.id, name: m.id });

export class AppStackProtectable implements ProtectablePlugin {
  /** Members (one per ref, whichever stack lists them) that depend on a ref, sorted. */
  private readonly dependentsOf = new Map<string, StackMember[]>();
  private readonly dependedOnTypes: string[];

  constructor(private readonly stacks: ReadonlyMap<string, Stack>) {
    const typeOf = new Map<string, string>();
    for (const s of stacks.values()) for (const m of s.members) typeOf.set(m.ref, m.type);
    for (const s of stacks.values()) {
      for (const m of s.members) {
        for (const dep of m.depends_on) {
          const list = this.dependentsOf.get(dep) ?? [];
          if (!list.some((x) => x.ref === m.ref)) list.push(m);
          this.dependentsOf.set(dep, list.sort(byRef));
        }
      }
    }
    this.dependedOnTypes = [...new Set([...this.dependentsOf.keys()].map((ref) => typeOf.get(ref)!))].sort();
  }

  resourceType(): string {
    return APP_STACK;
  }

  /** `app.stack` (for its roots) and every member type some member depends on (for the member edges). */
  parentResourceTypes(): string[] {
    return [APP_STACK, ...this.dependedOnTypes.filter((t) => t !== APP_STACK)];
  }

  async listResources(_ctx: ProtectableContext): Promise<Resource[]> {
    return [...this.stacks.keys()].sort().map((name) => this.stackResource(name));
  }

  async showResource(_ctx: ProtectableContext, id: string): Promise<Resource> {
    if (!this.stacks.has(id)) {
      throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', {
        type: APP_STACK,
        id,
        reason:
          `no stack "${id}" is configured in this provider's app.stack options (configured: ` +
          `${[...this.stacks.keys()].sort().join(', ')})`,
      });
    }
    return this.stackResource(id);
  }

  async dependentResources(_ctx: ProtectableContext, parent: Resource): Promise<Resource[]> {
    const roots = parent.type === APP_STACK ? (this.stacks.get(parent.id)?.members ?? []).filter((m) => m.depends_on.length === 0) : [];
    const dependents = this.dependentsOf.get(resourceRef(parent)) ?? [];
    return [...roots, ...dependents].sort(byRef).map(memberResource);
  }

  private stackResource(name: string): Resource {
    const stack = this.stacks.get(name)!;
    return {
      type: APP_STACK,
      id: name,
      name,
      extra_info: {
        members: stack.members.map((m) => m.ref),
        ...(stack.description !== undefined ? { description: stack.description } : {}),
      },
    };
  }
}
