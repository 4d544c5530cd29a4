// Event routing: the first rule whose provider, repository, event kind and branch/tag globs match
// decides which release spec runs, for which environments, and whether it is only a build.
// Pull requests are untrusted (sandboxed builds); those from forks are not routed unless allowForks.
import picomatch from 'picomatch';
import type { LoadedRoute } from './config.js';
import type { GitEvent } from './events.js';

export interface RoutedRelease {
  route: LoadedRoute;
  version: string;
  /** Pull requests and routes marked untrusted: the build runs sandboxed. */
  untrusted: boolean;
}

export type RouteResult = { routed: RoutedRelease } | { ignored: string };

const matchers = new Map<string, (s: string) => boolean>();
function glob(pattern: string): (s: string) => boolean {
  if (!matchers.has(pattern)) matchers.set(pattern, picomatch(pattern, { dot: true }));
  return matchers.get(pattern)!;
}

export function routeEvent(event: GitEvent, routes: LoadedRoute[]): RouteResult {
  for (const route of routes) {
    if (route.provider && route.provider !== event.provider) continue;
    if (route.event !== event.kind) continue;
    if (!glob(route.repo)(event.repo)) continue;
    if (route.branch && !(event.branch && glob(route.branch)(event.branch))) continue;
    if (route.tag && !(event.tag && glob(route.tag)(event.tag))) continue;
    // A fork's pull request runs code of someone outside the repository: only where a route opts in.
    if (event.kind === 'pull_request' && event.fork && !route.allowForks) {
      return { ignored: `pull request ${event.pullRequest ?? event.ref} of ${event.repo} comes from a fork; route ${route.name ?? route.repo} does not set allowForks` };
    }
    const useTag = route.version ? route.version === 'tag' : event.kind === 'tag';
    const version = useTag && event.tag && /^[A-Za-z0-9._+-]{1,128}$/.test(event.tag) ? event.tag : event.commit.slice(0, 12);
    return { routed: { route, version, untrusted: event.kind === 'pull_request' || route.untrusted } };
  }
  const what = event.tag ? `tag ${event.tag}` : event.branch ? `branch ${event.branch}` : event.ref;
  return { ignored: `no route for ${event.kind} of ${event.repo} (${what})` };
}
