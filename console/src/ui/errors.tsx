import { ApiError } from '../api/client';
import { useI18n } from '../i18n/i18n';

/** An error as the user should see it: the API's own message and the error id support can look up in the log. */
export function ErrorMessage({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  const message =
    error instanceof ApiError ? error.message : error instanceof TypeError ? t('error.network') : t('error.generic');
  const id = error instanceof ApiError ? error.id : undefined;
  return (
    <div role="alert" className="error">
      <p>{message}</p>
      {id && <p className="error-id">{t('common.errorId', { id })}</p>}
    </div>
  );
}
