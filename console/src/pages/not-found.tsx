/** What a URL that names nothing (or nothing of this project) shows: the API never says which. */
import { href } from '../router.js';

export function NotFound({ what }: { what: string }) {
  return (
    <section class="not-found">
      <h1>Not found</h1>
      <p>{what} does not exist in this project, or you may not see it.</p>
      <p>
        <a href={href([])}>Back to the overview</a>
      </p>
    </section>
  );
}
