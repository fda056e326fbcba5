import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import type { Me } from '../api/types';

/** The caller with permissions: which navigation entries and actions the console offers. */
export function useMe() {
  return useQuery({ queryKey: ['me'], queryFn: () => unwrap(api.GET('/users/me')) as Promise<Me> });
}
