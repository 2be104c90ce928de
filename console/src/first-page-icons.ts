// The icons the first page shows (the header, the extensions table and its pager, the empty and
// error states), registered before it renders. EUI otherwise imports each icon on first use: a
// round trip to the server after the page has rendered, then a second render when it arrives,
// which made up about a quarter of a cold load. Every other icon still loads on first use.
import { appendIconComponentCache } from '@elastic/eui/es/components/icon/icon';
import { icon as checkCircleFill } from '@elastic/eui/es/components/icon/assets/check_circle_fill';
import { icon as chevronSingleDown } from '@elastic/eui/es/components/icon/assets/chevron_single_down';
import { icon as chevronSingleLeft } from '@elastic/eui/es/components/icon/assets/chevron_single_left';
import { icon as chevronSingleRight } from '@elastic/eui/es/components/icon/assets/chevron_single_right';
import { icon as empty } from '@elastic/eui/es/components/icon/assets/empty';
import { icon as errorFill } from '@elastic/eui/es/components/icon/assets/error_fill';
import { icon as logOut } from '@elastic/eui/es/components/icon/assets/log_out';
import { icon as logoElastic } from '@elastic/eui/es/components/icon/assets/logo_elastic';
import { icon as magnify } from '@elastic/eui/es/components/icon/assets/magnify';
import { icon as plusCircle } from '@elastic/eui/es/components/icon/assets/plus_circle';
import { icon as sortable } from '@elastic/eui/es/components/icon/assets/sortable';
import { icon as sortUp } from '@elastic/eui/es/components/icon/assets/sort_up';

export function registerFirstPageIcons(): void {
  appendIconComponentCache({
    checkCircleFill,
    chevronSingleDown,
    chevronSingleLeft,
    chevronSingleRight,
    empty,
    errorFill,
    logOut,
    logoElastic,
    magnify,
    search: magnify,
    plusCircle,
    sortable,
    sortUp,
  });
}
