import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { ApiError } from '../api/client';

type Listener = () => void;
const passwordChangeListeners = new Set<Listener>();

/** Called when the API says the password must be changed first: the app shows that form instead of the page. */
export function onPasswordChangeRequired(listener: Listener): () => void {
  passwordChangeListeners.add(listener);
  return () => passwordChangeListeners.delete(listener);
}

function inspect(error: unknown) {
  if (error instanceof ApiError && error.code === 'PASSWORD_CHANGE_REQUIRED')
    for (const l of passwordChangeListeners) l();
  // A role that requires a second factor: nothing but enrolment works, so the account page is where to go.
  if (error instanceof ApiError && error.code === 'MFA_ENROLMENT_REQUIRED' && !location.hash.startsWith('#/account'))
    location.hash = '#/account?enrol=1';
}

/**
 * Server state lives in TanStack Query's cache, keyed per resource (`['charges', filters]`, `['charge', id]`,
 * `['history', id]`, `['me']`); mutations invalidate what they change. Nothing the server owns is kept elsewhere.
 */
export const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError: inspect }),
  mutationCache: new MutationCache({ onError: inspect }),
  defaultOptions: {
    queries: {
      // An API error is an answer, not a glitch: show it instead of asking three more times.
      retry: (count, error) => !(error instanceof ApiError) && count < 2,
      staleTime: 10_000,
      refetchOnWindowFocus: false,
    },
  },
});
