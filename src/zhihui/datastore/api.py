"""/api/v1 datastore routes and CKAN's download address ``/datastore/dump/<resource_id>``:
parse, call the service, shape the answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from zhihui.datastore import index, jobs, query, service, stats
from zhihui.datastore.schemas import SqlIn, VersionOut, json_param
from zhihui.web.deps import ActorDep, LangDep, SessionDep

router = APIRouter(tags=["datastore"])


def _root(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.settings.data_root


@router.post("/datastore/{resource_id}/versions", response_model=VersionOut, status_code=201,
             responses={202: {"description": "queued as a background job: the job, whose "
                              "progress GET /api/v1/datastore/jobs/{id} shows"}})
def upload(
    resource_id: str, request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
    upload: UploadFile,
    format: Annotated[str | None, Form(description="csv tsv xlsx xls json ndjson parquet")] = None,
    sheet: Annotated[str | None, Form(description="XLSX/XLS sheet: name or number")] = None,
    encoding: Annotated[str | None, Form(description="default: detected")] = None,
    delimiter: Annotated[str | None, Form(max_length=1)] = None,
    header_row: Annotated[int | None, Form(ge=1, le=1000)] = None,
    types: Annotated[str | None, Form(description='JSON: {"column": "text", …}')] = None,
    background: Annotated[bool, Form(description="run as a background job (always above "
                                     "the ingest_background_bytes setting)")] = False,
) -> Any:
    """Upload a file as the next version of the resource's data (needs resource.update).
    Large files (or background=true) answer 202 with a job instead of 201 with the version."""
    options = service.IngestOptions(
        format=format or None, sheet=sheet or None, encoding=encoding or None,
        delimiter=delimiter or None, header_row=header_row,
        types=json_param("types", types, {}))
    settings = request.app.state.settings
    if jobs.should_background(upload.size or 0, background, settings.ingest_background_bytes):
        job = jobs.submit(session, actor, resource_id, upload.file, upload.filename or "",
                          options, data_root=_root(request))
        session.commit()
        return JSONResponse(jobs.job_dict(job, lang), status_code=202)
    version = service.ingest(session, actor, resource_id, upload.file, upload.filename or "",
                             options, data_root=_root(request))
    session.commit()
    return service.version_dict(version)


@router.get("/datastore/jobs/{job_id}")
def job(job_id: str, session: SessionDep, actor: ActorDep, lang: LangDep) -> dict[str, Any]:
    """A background ingest: state (queued running succeeded failed), stage, progress, the
    version it made or why it failed. For who uploaded it and the resource's editors."""
    return jobs.job_dict(jobs.get_job(session, actor, job_id), lang)


@router.get("/datastore/{resource_id}/jobs")
def job_list(resource_id: str, session: SessionDep, actor: ActorDep,
             lang: LangDep) -> list[dict[str, Any]]:
    """The newest background jobs of a distribution that the caller may see."""
    return [jobs.job_dict(j, lang) for j in jobs.list_jobs(session, actor, resource_id)]


@router.get("/datastore/{resource_id}/stats")
def column_stats(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                 version: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """Per column: type, nulls, distinct; min, max, mean of numbers and dates; top values."""
    out = stats.column_stats(session, actor, resource_id, data_root=_root(request),
                             number=version)
    session.commit()  # the read's audit entry
    return out


@router.get("/datastore/{resource_id}/chart")
def chart(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
          column: Annotated[str, Query(max_length=300)],
          bins: Annotated[int, Query(ge=1, le=100)] = stats.BINS,
          version: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """Chart data of one column: a histogram (numbers) or counts per day/month/year (dates)."""
    out = stats.chart(session, actor, resource_id, column, data_root=_root(request),
                      number=version, bins=bins)
    session.commit()  # the read's audit entry
    return out


@router.get("/datastore/{resource_id}")
def info(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
         version: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """The table's fields and size (CKAN datastore_info)."""
    return service.info(session, actor, resource_id, data_root=_root(request), number=version)


@router.get("/datastore/{resource_id}/versions", response_model=list[VersionOut])
def versions(resource_id: str, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Every version, newest first, each with its validation report."""
    return service.versions(session, actor, resource_id)


@router.get("/datastore/{resource_id}/search")
def search(
    resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
    q: str = "", filters: Annotated[str | None, Query(description="JSON object")] = None,
    fields: Annotated[str, Query(description="comma-separated")] = "",
    sort: str = "",
    limit: Annotated[int, Query(ge=0, le=query.LIMIT_MAX)] = query.LIMIT_DEFAULT,
    offset: Annotated[int, Query(ge=0)] = 0,
    include_total: bool = True, distinct: bool = False,
    records_format: Annotated[str, Query(pattern="^(objects|lists|csv|tsv)$")] = "objects",
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """Rows of the current (or a numbered) version: filters, q over text, sort, paging."""
    params = query.Search(
        filters=json_param("filters", filters, {}), q=q,
        fields=[f.strip() for f in fields.split(",") if f.strip()] or None, sort=sort,
        limit=limit, offset=offset, include_total=include_total, distinct=distinct,
        records_format=records_format)
    out = service.search(session, actor, resource_id, params, data_root=_root(request),
                         number=version)
    session.commit()  # the read's audit entry
    return out


@router.post("/datastore/sql")
def search_sql(body: SqlIn, request: Request, session: SessionDep,
               actor: ActorDep) -> dict[str, Any]:
    """One read-only SELECT over resource tables named by resource id."""
    out = service.search_sql(session, actor, body.sql, data_root=_root(request))
    session.commit()  # the read's audit entry
    return out


dump_router = APIRouter(tags=["datastore"])


@dump_router.get("/datastore/dump/{resource_id}")
def dump(
    resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
    format: str = "csv", bom: bool = False, encoding: str = "utf-8",
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    """Download a version: csv (UTF-8; bom=true or encoding=gbk for Excel), tsv, json, xlsx,
    parquet."""
    out = service.dump(session, actor, resource_id, data_root=_root(request), fmt=format,
                       bom=bom, encoding=encoding, number=version)
    session.commit()  # the read's audit entry
    session.close()  # the body streams after the answer starts; the session is not needed
    disposition = {"Content-Disposition": f'attachment; filename="{out.filename}"'}
    if out.path is not None:
        task = BackgroundTask(out.cleanup) if out.cleanup else None
        return FileResponse(out.path, media_type=out.media_type, headers=disposition,
                            background=task)
    assert out.chunks is not None
    return StreamingResponse(out.chunks, media_type=out.media_type, headers=disposition)


def run_worker(app: FastAPI) -> None:
    """Background jobs run in ``settings.job_workers`` threads of each app process while it
    runs (any process may take any job: the queue is the database)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        stop = threading.Event()
        settings = a.state.settings
        threads = [jobs.Worker(a.state.db, settings.data_root).start_thread(stop)
                   for _ in range(max(0, settings.job_workers))]
        try:
            async with inner(a) as state:
                yield state
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=2)  # a job still running is found stale and run again
            await asyncio.to_thread(index.stop)  # builds cancelled, not cut off at exit

    app.router.lifespan_context = lifespan
