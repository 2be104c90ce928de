// The progress of a file upload: bytes sent of the total, the rate, the time left, and cancel.
import { EuiButtonEmpty, EuiFlexGroup, EuiFlexItem, EuiProgress, EuiText } from '@elastic/eui';
import type { UploadProgress } from '../api/client';
import { formatBytes, formatDuration } from './format';

export function UploadProgressBar({
  progress,
  onCancel,
  finishing,
  fileName,
}: {
  progress: UploadProgress;
  onCancel?: () => void;
  finishing: boolean;
  fileName?: string | undefined;
}) {
  const percent = progress.total > 0 ? Math.floor((progress.loaded / progress.total) * 100) : 0;
  return (
    <div data-test-subj="uploadProgress">
      <EuiProgress
        value={progress.loaded}
        max={Math.max(progress.total, 1)}
        size="m"
        color="primary"
        label={finishing ? 'Checking the archive on the server…' : fileName ? `Uploading ${fileName}` : 'Uploading'}
        valueText={<span data-test-subj="uploadPercent">{percent} %</span>}
      />
      <EuiFlexGroup justifyContent="spaceBetween" alignItems="center" responsive={false}>
        <EuiFlexItem grow={false}>
          <EuiText size="xs" color="subdued">
            <span data-test-subj="uploadBytes">
              {formatBytes(progress.loaded)} of {formatBytes(progress.total)}
            </span>
            {' · '}
            {formatBytes(progress.rate)}/s{' · '}
            {progress.secondsLeft === null ? 'estimating time left' : `${formatDuration(progress.secondsLeft)} left`}
          </EuiText>
        </EuiFlexItem>
        {onCancel && !finishing && (
          <EuiFlexItem grow={false}>
            <EuiButtonEmpty size="xs" color="danger" onClick={onCancel}>
              Cancel upload
            </EuiButtonEmpty>
          </EuiFlexItem>
        )}
      </EuiFlexGroup>
    </div>
  );
}
