// Any route the console does not know, or one this role may not use.
import { EuiButton, EuiEmptyPrompt, EuiPageTemplate } from '@elastic/eui';
import { useNavigate } from 'react-router-dom';

export function NotFoundPage() {
  const navigate = useNavigate();
  return (
    <EuiPageTemplate panelled={false}>
      <EuiPageTemplate.Section alignment="center">
        <EuiEmptyPrompt
          iconType="question"
          title={<h1>There is no such page</h1>}
          body={<p>The address may be mistyped, or the page is not available to your role.</p>}
          actions={
            <EuiButton fill onClick={() => navigate('/extensions')}>
              Go to extensions
            </EuiButton>
          }
        />
      </EuiPageTemplate.Section>
    </EuiPageTemplate>
  );
}
