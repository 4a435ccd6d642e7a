// Which pages of the list the table needs, keeps and drops. Pure: rows and
// pages are numbers, so it runs under `node --test`.

// The pages holding the rows first..last. Until the list has answered once,
// page 0 at least is wanted: its answer tells the total.
export function pagesInView(range, answered, pageSize) {
  const { first, last } = range;
  if (last < first) return answered ? [] : [0];
  const pages = [];
  for (let p = Math.floor(first / pageSize); p <= Math.floor(last / pageSize); p++) pages.push(p);
  return pages;
}

// Requests for these pages go on; others are aborted: the wanted pages and
// one on each side, where a small scroll lands next.
export function pagesWorthFetching(wanted) {
  const keep = new Set();
  wanted.forEach((p) => {
    keep.add(p - 1);
    keep.add(p);
    keep.add(p + 1);
  });
  return keep;
}

// The cached pages to drop to keep at most `max`: the farthest from the
// centre of the rows on screen first.
export function pagesToDrop(cached, range, pageSize, max) {
  if (cached.length <= max) return [];
  const centre = Math.floor((range.first + range.last) / 2 / pageSize);
  const byDistance = cached.slice().sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
  return byDistance.slice(0, cached.length - max);
}
