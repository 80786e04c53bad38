"""The web page: one HTML shell at `/` and its static files under `/ui/`, all from the package
(nothing fetched from elsewhere, nothing built at run time). The page talks to the same API
as every client, with the key the user gives it (docs/web.md)."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
def page() -> FileResponse:
    # no-cache: a new version's shell is read at once; the files it names are revalidated.
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)
