/**
 * A resource and its reference, the one spelling of `type#id` (Karbor's key in parameters,
 * resources_status and resources_reason). Pure: the workflow bundle, both engines and every plugin
 * share it.
 */

/** Something that can be protected: a directory, a database... `id` is unique within its type. */
export interface Resource {
  type: string;
  id: string;
  name: string;
  extra_info?: Record<string, unknown>;
  /**
   * Set in a plan entry, not by plugins: the node whose agent (`bulwark agent --node N`) runs this
   * resource's hooks with the temporal engine. Dependents inherit it.
   */
  node?: string;
  /**
   * Set in a plan entry, not by plugins: quiesce/unquiesce commands run around this resource's
   * protect `main` hook (see docs/consistency.md). Plugins never see it.
   */
  consistency?: unknown;
}

/** `type#id`. Ids may contain `#` (a URL's fragment); types never do, so the first `#` splits. */
export const resourceRef = (r: { type: string; id: string }): string => `${r.type}#${r.id}`;

/** What a plugin hook sees of a resource: plan-only fields (node, consistency) left out. */
export const hookResource = (r: Resource): Resource => ({
  type: r.type,
  id: r.id,
  name: r.name,
  ...(r.extra_info ? { extra_info: r.extra_info } : {}),
});
