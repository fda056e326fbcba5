import type { PageProps } from '../app/router';
import { useLocation } from '../app/router';
import { type MessageKey, useI18n } from '../i18n/i18n';

/** A navigation slot whose page is not built yet. */
export default function Placeholder(_: PageProps) {
  const { t } = useI18n();
  const { path } = useLocation();
  const key = `placeholder.${path.split('/')[1] ?? ''}` as MessageKey;
  return (
    <>
      <h1>{t(key)}</h1>
      <p>{t('common.placeholder')}</p>
    </>
  );
}
