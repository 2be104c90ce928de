// The extensions table. Searching, filtering, sorting and paging happen on the server (extrepo's
// browse parameters of GET /deployments/extensions), so a page of 50 is all the browser ever
// holds, whether the repository has 10 extensions or 100,000. include_deployments=true gives each
// row the deployments that use it (one query per page on the server), shown as a count. Pages follow the server's cursor;
// the cursors of pages already seen are kept so Previous works.
import {
  EuiBasicTable,
  EuiButton,
  EuiButtonEmpty,
  EuiCallOut,
  EuiFieldSearch,
  EuiFlexGroup,
  EuiFlexItem,
  EuiLink,
  EuiPageTemplate,
  EuiSelect,
  EuiSpacer,
  EuiText,
  type Criteria,
  type EuiBasicTableColumn,
} from '@elastic/eui';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { browsePath, type ApiClient } from '../api/client';
import type { ExtensionType, ExtensionView, ExtensionViewPage, SortDirection, SortField } from '../api/types';
import { useSession } from '../session/session';
import { formatBytes, formatDate, shortSha } from './format';

const PAGE_SIZE = 50;
const SORT_FIELDS: readonly SortField[] = ['name', 'extension_type', 'version', 'size', 'sha256', 'last_modified'];

// Table columns are keyed by these field names; the server sorts by the same names.
type Row = ExtensionView & { size?: number; sha256?: string; last_modified?: string };

function toRow(extension: ExtensionView): Row {
  return {
    ...extension,
    ...(extension.file_metadata
      ? {
          size: extension.file_metadata.size,
          sha256: extension.file_metadata.sha256,
          last_modified: extension.file_metadata.last_modified_date,
        }
      : {}),
  };
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** What the page's address asks for: its type filter and sort order. */
function viewOf(params: URLSearchParams): { type: ExtensionType | ''; sort: SortField; order: SortDirection } {
  const type = (params.get('type') ?? '') as ExtensionType | '';
  const [sortParam, orderParam] = (params.get('sort') ?? 'name:asc').split(':');
  const sort: SortField = SORT_FIELDS.includes(sortParam as SortField) ? (sortParam as SortField) : 'name';
  return { type, sort, order: orderParam === 'desc' ? 'desc' : 'asc' };
}

function firstPageQuery(search: string, view: ReturnType<typeof viewOf>) {
  return {
    search,
    ...(view.type ? { type: view.type } : {}),
    sort: view.sort,
    order: view.order,
    size: PAGE_SIZE,
    includeDeployments: true,
  };
}

/** Asks for the first page this address shows, while the session is still being checked. */
export function prefetchFirstPage(api: ApiClient, location: { pathname: string; search: string }): Promise<void> | undefined {
  if (location.pathname !== '/extensions' && location.pathname !== '/') return undefined;
  const params = new URLSearchParams(location.search);
  return api.prefetch(browsePath(firstPageQuery(params.get('search') ?? '', viewOf(params))));
}

export function ExtensionsPage() {
  const { api, abilities } = useSession();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const [searchText, setSearchText] = useState(params.get('search') ?? '');
  const search = useDebounced(searchText, 250);
  const { type, sort, order } = viewOf(params);

  // On a cold load the first page's answer has usually arrived already (prefetchFirstPage): the
  // first render shows it, instead of an empty table that fills a render later.
  const [arrived] = useState(() => api.takeArrived<ExtensionViewPage>(browsePath(firstPageQuery(search, { type, sort, order }))) ?? null);
  const queryKey = `${search}\n${type}\n${sort}\n${order}`;
  // The query whose first page came seeded, until the fetch effect has skipped its request once.
  const seededQuery = useRef<string | null>(arrived === null ? null : queryKey);

  // cursors[i] is the cursor that fetches page i (page 0 has none).
  const [cursors, setCursors] = useState<Array<string | undefined>>(arrived === null ? [undefined] : [undefined, arrived.next_cursor]);
  const [pageIndex, setPageIndex] = useState(0);
  const [page, setPage] = useState<ExtensionViewPage | null>(arrived);
  const [loading, setLoading] = useState(arrived === null);
  const [failure, setFailure] = useState<string | null>(null);

  const setParam = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value === '') next.delete(name);
    else next.set(name, value);
    setParams(next, { replace: true });
  };

  // A new query starts again at the first page (the seeded query is already there).
  useEffect(() => {
    if (seededQuery.current === queryKey) return;
    setCursors([undefined]);
    setPageIndex(0);
  }, [queryKey]);

  useEffect(() => {
    if (search !== (params.get('search') ?? '')) setParam('search', search);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);

  const cursor = cursors[pageIndex];
  useEffect(() => {
    // The seeded first page needs no request; every later query or page does.
    if (seededQuery.current === queryKey && pageIndex === 0) {
      seededQuery.current = null;
      return;
    }
    let current = true;
    setLoading(true);
    api
      .browseExtensions({ ...firstPageQuery(search, { type, sort, order }), ...(cursor ? { cursor } : {}) })
      .then((answer) => {
        if (!current) return;
        setPage(answer);
        setFailure(null);
        setCursors((known) => {
          const next = known.slice(0, pageIndex + 1);
          next[pageIndex + 1] = answer.next_cursor;
          return next;
        });
      })
      .catch((error: Error) => current && setFailure(error.message))
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [api, search, type, sort, order, queryKey, cursor, pageIndex]);

  const columns = useMemo<Array<EuiBasicTableColumn<Row>>>(
    () => [
      {
        field: 'name',
        name: 'Name',
        sortable: true,
        render: (name: string, row: Row) => (
          <EuiLink
            href={`/extensions/${row.id}`}
            // Element Timing: the browser reports when these names are first painted (the bench's clock).
            {...{ elementtiming: 'extension-name' }}
            onClick={(event) => {
              event.preventDefault();
              navigate(`/extensions/${row.id}`);
            }}
          >
            {name}
          </EuiLink>
        ),
      },
      { field: 'extension_type', name: 'Type', sortable: true },
      { field: 'version', name: 'Version', sortable: true },
      {
        field: 'size',
        name: 'Size',
        sortable: true,
        align: 'right',
        render: (size: number | undefined) => (size === undefined ? 'no file' : formatBytes(size)),
      },
      {
        field: 'sha256',
        name: 'sha256',
        sortable: true,
        render: (sha256: string | undefined) => (sha256 === undefined ? '—' : <code title={sha256}>{shortSha(sha256)}</code>),
      },
      {
        field: 'last_modified',
        name: 'Last modified',
        sortable: true,
        render: (date: string | undefined) => (date === undefined ? '—' : formatDate(date)),
      },
      {
        // How many deployments (that the signed-in user may see) have it in their current plan; the
        // server cannot sort by it, so the column is not sortable.
        field: 'deployments',
        name: 'Deployments',
        align: 'right',
        render: (deployments: string[] | undefined) => <span data-test-subj="deploymentCount">{(deployments?.length ?? 0).toLocaleString()}</span>,
      },
    ],
    [navigate],
  );

  const rows = useMemo(() => (page?.extensions ?? []).map(toRow), [page]);
  const total = page?.total ?? 0;
  const first = total === 0 ? 0 : pageIndex * PAGE_SIZE + 1;
  const last = pageIndex * PAGE_SIZE + rows.length;

  return (
    <EuiPageTemplate panelled={false} restrictWidth={false}>
      <EuiPageTemplate.Header
        pageTitle="Extensions"
        description="Elasticsearch plugins and bundles; deployments reference them as repo://<id>."
        rightSideItems={
          abilities.writeExtensions
            ? [
                <EuiButton key="create" fill iconType="plusCircle" onClick={() => navigate('/extensions/new')}>
                  Create extension
                </EuiButton>,
              ]
            : []
        }
      />
      <EuiPageTemplate.Section>
        <EuiFlexGroup gutterSize="m" responsive={false}>
          <EuiFlexItem>
            <EuiFieldSearch
              placeholder="Search names and descriptions"
              aria-label="Search names and descriptions"
              value={searchText}
              onChange={(event) => setSearchText(event.target.value)}
              isClearable
              fullWidth
            />
          </EuiFlexItem>
          <EuiFlexItem grow={false}>
            <EuiSelect
              aria-label="Filter by type"
              value={type}
              onChange={(event) => setParam('type', event.target.value)}
              options={[
                { value: '', text: 'All types' },
                { value: 'plugin', text: 'Plugins' },
                { value: 'bundle', text: 'Bundles' },
              ]}
            />
          </EuiFlexItem>
        </EuiFlexGroup>
        <EuiSpacer size="m" />
        {failure !== null && (
          <>
            <EuiCallOut title="The list could not be loaded" color="danger" iconType="error" role="alert">
              <p>{failure}</p>
            </EuiCallOut>
            <EuiSpacer size="m" />
          </>
        )}
        <EuiBasicTable<Row>
          tableCaption="Extensions"
          items={rows}
          itemId="id"
          columns={columns}
          loading={loading}
          noItemsMessage={loading ? 'Loading…' : search || type ? 'No extension matches.' : 'No extensions yet.'}
          sorting={{ sort: { field: sort as keyof Row, direction: order } }}
          onChange={(criteria: Criteria<Row>) => {
            if (criteria.sort) setParam('sort', `${String(criteria.sort.field)}:${criteria.sort.direction}`);
          }}
          data-test-subj="extensionsTable"
        />
        <EuiSpacer size="m" />
        <EuiFlexGroup alignItems="center" justifyContent="spaceBetween" responsive={false}>
          <EuiFlexItem grow={false}>
            <EuiText size="s" data-test-subj="extensionsCount">
              {total === 0 ? 'No extensions' : `${first.toLocaleString()}–${last.toLocaleString()} of ${total.toLocaleString()}`}
            </EuiText>
          </EuiFlexItem>
          <EuiFlexItem grow={false}>
            <EuiFlexGroup gutterSize="s" responsive={false}>
              <EuiButtonEmpty iconType="chevronSingleLeft" isDisabled={pageIndex === 0 || loading} onClick={() => setPageIndex(pageIndex - 1)}>
                Previous
              </EuiButtonEmpty>
              <EuiButtonEmpty
                iconType="chevronSingleRight"
                iconSide="right"
                isDisabled={cursors[pageIndex + 1] === undefined || loading}
                onClick={() => setPageIndex(pageIndex + 1)}
              >
                Next
              </EuiButtonEmpty>
            </EuiFlexGroup>
          </EuiFlexItem>
        </EuiFlexGroup>
      </EuiPageTemplate.Section>
    </EuiPageTemplate>
  );
}
