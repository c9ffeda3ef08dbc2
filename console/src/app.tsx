/** The signed-in frame (header, navigation, main region) and the page each route shows. */
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { Api } from './api.js';
import { href, useRoute, type Route } from './router.js';
import { CheckpointDetail } from './pages/checkpoint.js';
import { Checkpoints } from './pages/checkpoints.js';
import { NotFound } from './pages/not-found.js';
import { Operations } from './pages/operations.js';
import { Overview } from './pages/overview.js';
import { NewPlan, PlanDetail, Plans } from './pages/plans.js';
import { ProviderDetail, Protectables, Providers } from './pages/providers.js';
import { OperationLogs, ScheduledOperations, Triggers } from './pages/scheduling.js';

const NAV: Array<[string, string]> = [
  ['', 'Overview'],
  ['plans', 'Plans'],
  ['checkpoints', 'Checkpoints'],
  ['restores', 'Restores'],
  ['verifications', 'Verifications'],
  ['triggers', 'Triggers'],
  ['scheduled-operations', 'Scheduled operations'],
  ['operation-logs', 'Operation logs'],
  ['providers', 'Providers'],
  ['protectables', 'Protectables'],
];

function page(api: Api, route: Route) {
  const [section = '', a, b, ...rest] = route.parts;
  if (rest.length > 0) return <NotFound what="This page" />;
  switch (section) {
    case '':
      return <Overview api={api} />;
    case 'plans':
      if (a === undefined) return <Plans api={api} />;
      if (b !== undefined) break;
      return a === 'new' ? <NewPlan api={api} /> : <PlanDetail api={api} id={a} />;
    case 'checkpoints':
      if (a === undefined) return <Checkpoints api={api} route={route} />;
      if (b === undefined) break;
      return <CheckpointDetail api={api} providerId={a} id={b} />;
    case 'restores':
    case 'verifications':
      if (a === undefined) return <Operations api={api} kind={section} />;
      break;
    case 'triggers':
      if (a === undefined) return <Triggers api={api} />;
      break;
    case 'scheduled-operations':
      if (a === undefined) return <ScheduledOperations api={api} route={route} />;
      break;
    case 'operation-logs':
      if (a === undefined) return <OperationLogs api={api} route={route} />;
      break;
    case 'providers':
      if (a === undefined) return <Providers api={api} />;
      if (b === undefined) return <ProviderDetail api={api} id={a} />;
      break;
    case 'protectables':
      if (a === undefined) return <Protectables api={api} />;
      break;
  }
  return <NotFound what="This page" />;
}

export function SignedIn({ api, onSignOut }: { api: Api; onSignOut: () => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const key = route.parts.join('/');
  // A route change: move focus to the new page, as a page load would, so keyboard and screen-reader users
  // start there. Not on the first render: a fresh load starts at the top, where the skip link is.
  const first = useRef(true);
  useLayoutEffect(() => {
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [key]);
  const section = route.parts[0] ?? '';
  return (
    <div class="layout">
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Bulwark</span>
        <span class="who">
          <span>
            Project <strong>{api.identity.project_id}</strong> ({api.identity.role})
          </span>
          <button type="button" class="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      <nav class="side" aria-label="Sections">
        <ul>
          {NAV.map(([path, label]) => (
            <li key={path}>
              <a href={href(path ? [path] : [])} {...(section === path ? { 'aria-current': 'page' } : {})}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1}>
        {page(api, route)}
      </main>
    </div>
  );
}
