"""Contacts pages (organization host): list and search, detail, tags, CSV import and export."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing_stub.quota import QuotaExceeded
from tenants.webapp.permissions import member_required
from whatsapp.inbox import selectors
from whatsapp.inbox.contacts_io import (
    ImportFileError,
    contact_tags_set,
    contacts_export_rows,
    contacts_import_csv,
    tags_parse,
)
from whatsapp.models import Contact


@require_GET
@member_required
def contact_list_view(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[:200]
    tag = request.GET.get("tag", "")[:50]
    contacts = selectors.contact_list(search=search, tag=tag)
    return render(request, "contacts/list.html", {"contacts": contacts, "q": search, "tag": tag})


@require_GET
@member_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    # Only the host's schema is searched: another organization's id is a 404 here.
    contact = get_object_or_404(Contact.objects.prefetch_related("tags"), pk=contact_id)
    conversations = list(
        contact.conversations.select_related("last_message").order_by("-last_activity_at")
    )
    return render(
        request,
        "contacts/detail.html",
        {"contact": contact, "conversations": conversations, "tags": contact.tags.all()},
    )


@require_POST
@member_required
def contact_tags(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id)
    contact_tags_set(contact=contact, tags=tags_parse(request.POST.get("tags", "")))
    messages.success(request, "Tags saved.")
    return HttpResponseRedirect(f"/contacts/{contact.pk}/")


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@member_required
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    """The contacts the list shows (same search and tag), every one of them, as CSV."""
    contacts = selectors.contact_list(
        search=request.GET.get("q", "")[:200], tag=request.GET.get("tag", "")[:50], limit=None
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in contacts_export_rows(contacts)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
    return response


@require_http_methods(["GET", "POST"])
@member_required
def contact_import(request: HttpRequest) -> HttpResponse:
    context: dict = {"reports": None}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["error"] = "Choose a CSV file."
        else:
            try:
                reports = contacts_import_csv(data=upload.read())
            except ImportFileError as exc:
                context["error"] = exc.message
            except QuotaExceeded as exc:
                context["error"] = (
                    f"Nothing was imported: the new contacts would pass the plan's limit of "
                    f"{exc.allowed} contacts ({exc.used} stored now). Import fewer rows or "
                    "upgrade the plan."
                )
            else:
                context["reports"] = reports
                context["counts"] = {
                    outcome: sum(1 for r in reports if r.outcome == outcome)
                    for outcome in ("created", "updated", "error")
                }
    return render(request, "contacts/import.html", context)
