"""The resource page's data panel (Art. 48: open data people can look at before they download
it; Art. 14, 46: departments bring their files through the portal): for each distribution with
data the caller may read, a preview table (sort, filter per column, paging, all server-side
through datastore_search), per-column statistics, a chart, the versions with their downloads;
for editors, an upload form whose background job shows its progress and validation report.

Every fragment is also a whole page when asked for without htmx, so links work without
JavaScript. Reads go through the datastore services, so the same rights, privacy narrowing
and audit apply as in the API."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Distribution, Resource
from zhihui.catalog.pages import local_time
from zhihui.core.authz import Actor, can, require
from zhihui.core.errors import Forbidden, Message, NotFound, ValidationFailed, ZhihuiError
from zhihui.datastore import jobs, query, service, stats
from zhihui.datastore.models import DatastoreJob, DatastoreVersion
from zhihui.web.deps import ActorDep, LangDep, SessionDep, check_csrf
from zhihui.web.pages import redirect, render

router = APIRouter(include_in_schema=False)

PAGE_ROWS = 20
RANGE_PREFIXES = (("gte", ">="), ("lte", "<="), ("gt", ">"), ("lt", "<"))
ENCODINGS = ("utf-8", "gbk", "gb18030", "big5")
FILTER_PREFIX = "f."
RECENT_JOBS = 3


def _show(request: Request, fragment: str, actor: Actor, lang: str, status_code: int = 200,
          **context: Any):
    """A fragment for htmx, or the same fragment inside the site's page."""
    htmx = request.headers.get("hx-request") == "true"
    return render(request, fragment if htmx else "datastore/page.html", actor, lang,
                  status_code=status_code, fragment=fragment, local_time=local_time,
                  **context)


def _root(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.settings.data_root


# --- the preview -----------------------------------------------------------------------------


@dataclass
class Preview:
    """What the preview shows and how the user arrived at it: sort, direction, page, and a
    text per column (contains; ``>=10`` style comparisons for numbers and dates)."""

    distribution_id: str
    resource_id: str
    sort: str = ""
    desc: bool = False
    page: int = 1
    filters: dict[str, str] = field(default_factory=dict)
    fields: list[dict[str, Any]] = field(default_factory=list)
    records: list[list[Any]] = field(default_factory=list)
    total: int = 0
    error: str = ""
    # Art. 50 异议标注 (privacy.requests): the shown rows' _id under an open correction request
    disputed: set[int] = field(default_factory=set)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_ROWS))

    @property
    def start(self) -> int:
        return (self.page - 1) * PAGE_ROWS + 1 if self.total else 0

    @property
    def end(self) -> int:
        return min(self.total, self.page * PAGE_ROWS)

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        state = {"sort": self.sort, "desc": self.desc, "page": self.page, **changes}
        pairs = []
        if state["sort"]:
            pairs.append(("sort", state["sort"]))
            if state["desc"]:
                pairs.append(("desc", "1"))
        if state["page"] and int(state["page"]) > 1:
            pairs.append(("page", str(state["page"])))
        pairs += [(FILTER_PREFIX + k, v) for k, v in self.filters.items() if v]
        return pairs

    def fragment_url(self, **changes: Any) -> str:
        return f"/datastore/{self.distribution_id}/preview?" + urlencode(self.params(**changes))

    def page_url(self, **changes: Any) -> str:
        """The same view as a whole page (no JavaScript)."""
        return f"/dataset/{self.resource_id}/data?" + urlencode(
            [("dist", self.distribution_id), *self.params(**changes)])

    def without_filters(self) -> Preview:
        return replace(self, filters={})

    def sort_change(self, column: str) -> dict[str, Any]:
        """Clicking a header: ascending, then descending, then back to file order."""
        if self.sort != column:
            return {"sort": column, "desc": False, "page": 1}
        if not self.desc:
            return {"sort": column, "desc": True, "page": 1}
        return {"sort": "", "desc": False, "page": 1}


def _preview_state(request: Request, distribution_id: str, resource_id: str) -> Preview:
    q = request.query_params
    page = q.get("page", "1")
    filters = {k[len(FILTER_PREFIX):][:300]: v.strip()[:200] for k, v in q.multi_items()
               if k.startswith(FILTER_PREFIX) and v.strip()}
    return Preview(distribution_id=distribution_id, resource_id=resource_id,
                   sort=q.get("sort", "")[:300], desc=q.get("desc") in ("1", "true"),
                   page=max(1, min(int(page) if page.isdigit() else 1, 10**6)),
                   filters=filters)


def _search_params(p: Preview, kinds: dict[str, str]) -> query.Search:
    filters: dict[str, Any] = {}
    words: dict[str, str] = {}
    for column, text in p.filters.items():
        kind = kinds.get(column)
        ranged = False
        if kind not in (None, "text", "boolean"):
            for op, prefix in RANGE_PREFIXES:
                if text.startswith(prefix) and text[len(prefix):].strip():
                    filters.setdefault(column, {})[op] = text[len(prefix):].strip()
                    ranged = True
                    break
        if not ranged:
            words[column] = text
    sort = f"{p.sort} {'desc' if p.desc else 'asc'}" if p.sort else ""
    return query.Search(filters=filters, q=words, sort=sort, limit=PAGE_ROWS,
                        offset=(p.page - 1) * PAGE_ROWS, records_format="lists",
                        fields=["_id", *kinds])


def load_preview(session: Session, actor: Actor, p: Preview, version: DatastoreVersion,
                 columns: list[dict[str, Any]], lang: str, data_root: Any) -> Preview:
    """One page of rows through datastore_search (audited there); a bad filter or sort is
    said on the page, in the reader's language, and the table stays."""
    kinds = {c["id"]: c["type"] for c in columns}
    p.fields = [{"id": c["id"], "type": c["type"]} for c in columns]
    if p.sort and p.sort not in kinds:
        p.sort = ""
    try:
        out = service.search(session, actor, p.distribution_id, _search_params(p, kinds),
                             data_root=data_root, number=version.number)
    except ValidationFailed as exc:
        details = [m for msgs in exc.render_fields(lang).values() for m in msgs]
        p.error = "；".join(details) or exc.render(lang)
        return p
    p.records = out["records"]
    p.total = out["total"]
    p.disputed = set(out.get("disputed") or ()) & {row[0] for row in p.records}  # privacy
    return p


# --- the panel -------------------------------------------------------------------------------


@dataclass
class Block:
    """One distribution in the panel."""

    distribution: Distribution
    version: DatastoreVersion | None = None
    versions: list[DatastoreVersion] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    chartable: list[dict[str, Any]] = field(default_factory=list)
    preview: Preview | None = None
    jobs: list[DatastoreJob] = field(default_factory=list)
    note: str = ""  # why no preview: no data yet, or not readable by this caller


def _block(session: Session, actor: Actor, r: Resource, d: Distribution, request: Request,
           lang: str, editor: bool) -> Block:
    from zhihui.datastore import access

    block = Block(distribution=d)
    if editor:
        block.jobs = jobs.list_jobs(session, actor, d.id, limit=RECENT_JOBS)
    block.versions = service.list_versions(session, actor, d.id)
    if not block.versions:
        return block
    try:
        view = access.view(session, actor, d.id, data_root=_root(request))
    except (NotFound, Forbidden) as exc:
        block.note = exc.render(lang)
        return block
    block.version = view.version
    block.columns = view.columns
    block.chartable = [c for c in view.columns if c["type"] in stats.NUMBERS + stats.DATES]
    p = _preview_state(request, d.id, r.id) if request.query_params.get("dist") == d.id \
        else Preview(distribution_id=d.id, resource_id=r.id)
    block.preview = load_preview(session, actor, p, view.version, view.columns, lang,
                                 _root(request))
    return block


@router.get("/dataset/{resource_id}/data")
def panel(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
          lang: LangDep):
    """The data panel of a resource (the resource page loads it with htmx)."""
    r = catalog.get_resource(session, actor, resource_id)
    editor = can(actor, "resource.update", r)
    blocks = [_block(session, actor, r, d, request, lang, editor) for d in r.distributions
              if d.kind == "file"]
    session.commit()  # the previews' read entries
    return _show(request, "datastore/_panel.html", actor, lang, r=r, blocks=blocks,
                 editor=editor, encodings=ENCODINGS,
                 title=catalog.resource_dict(r, catalog.org_of(session, r))["title"])


@router.get("/datastore/{distribution_id}/preview")
def preview(distribution_id: str, request: Request, session: SessionDep, actor: ActorDep,
            lang: LangDep):
    """The preview table alone: htmx swaps it on sort, filter and paging."""
    from zhihui.datastore import access

    view = access.view(session, actor, distribution_id, data_root=_root(request))
    p = _preview_state(request, distribution_id, view.resource.id)
    p = load_preview(session, actor, p, view.version, view.columns, lang, _root(request))
    session.commit()
    return _show(request, "datastore/_preview.html", actor, lang, p=p, r=view.resource,
                 status_code=409 if p.error else 200)


@router.get("/datastore/{distribution_id}/stats")
def column_stats(distribution_id: str, request: Request, session: SessionDep, actor: ActorDep,
                 lang: LangDep):
    """The statistics table (loaded when it scrolls into view)."""
    result = stats.column_stats(session, actor, distribution_id, data_root=_root(request))
    session.commit()
    d, r = catalog.get_distribution(session, actor, distribution_id)
    return _show(request, "datastore/_stats.html", actor, lang, s=result, r=r)


# --- uploads and jobs ------------------------------------------------------------------------


@router.post("/datastore/upload/{resource_id}")
async def upload(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                 lang: LangDep):
    """An editor's upload: always a background job, so the page shows its progress."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "resource.update", r)
    file = form.get("upload")
    try:
        if file is None or isinstance(file, str) or not (file.filename or "").strip():
            raise ValidationFailed("data_panel.upload_missing", fields={
                "upload": [Message("data_panel.upload_missing", {})]})
        header = str(form.get("header_row", "")).strip()
        if header and (not header.isdigit() or not 1 <= int(header) <= 1000):
            raise ValidationFailed(fields={"header_row": [
                Message("field.range", {"min": 1, "max": 1000})]})
        encoding = str(form.get("encoding", "")).strip().lower()
        options = service.IngestOptions(
            sheet=str(form.get("sheet", "")).strip()[:100] or None,
            encoding=encoding if encoding in ENCODINGS else None,
            header_row=int(header) if header else None)
        target = str(form.get("distribution", "")).strip()
        if target:
            d, owner = catalog.get_distribution(session, actor, target)
            if owner.id != r.id:
                raise NotFound("error.distribution_not_found", id=target[:100])
        else:
            target = service.distribution_for(session, actor, r.id, file.filename or "")
        job = jobs.submit(session, actor, target, file.file, file.filename or "", options,
                          data_root=_root(request))
        session.commit()
    except ZhihuiError as exc:
        session.rollback()
        if request.headers.get("hx-request") != "true" and not isinstance(exc, ValidationFailed):
            raise
        return _show(request, "datastore/_upload_error.html", actor, lang,
                     message=exc.render(lang), fields=exc.render_fields(lang), r=r,
                     status_code=exc.status)
    if request.headers.get("hx-request") == "true":
        return _job_page(request, session, actor, lang, job)
    return redirect(f"/datastore/jobs/{job.id}")


def _job_page(request: Request, session: Session, actor: Actor, lang: str, job: DatastoreJob):
    version = None
    if job.state == "succeeded" and job.version_number:
        try:
            version = service.get_version(session, actor, job.distribution_id,
                                          job.version_number)
        except NotFound:
            version = None
    return _show(request, "datastore/_job.html", actor, lang, job=job,
                 info=jobs.job_dict(job, lang), version=version)


@router.get("/datastore/jobs/{job_id}")
def job_page(job_id: str, request: Request, session: SessionDep, actor: ActorDep,
             lang: LangDep):
    """A job's progress (htmx polls it each second until it ends), then its report."""
    return _job_page(request, session, actor, lang, jobs.get_job(session, actor, job_id))
