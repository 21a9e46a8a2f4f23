"""The organization's template pages (`/templates/`): the list with Meta's statuses, reasons and
notices, "sync now", the editor with its live preview and review checks, and the inbox's
template picker (an htmx fragment). Thin: forms in, one service call, a page or fragment out.

Members (agents too) see the list and use the picker; only admins create, edit, delete and
sync. Each organization's templates live in its own schema: another organization's ids 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.webapp.permissions import admin_required, member_required, org_role
from whatsapp.errors import WhatsAppDomainError
from whatsapp.message_templates.errors import TemplateInvalidError
from whatsapp.message_templates.models import MessageTemplate, TemplateNotice
from whatsapp.message_templates.services.lifecycle import (
    template_create,
    template_delete,
    template_edit,
)
from whatsapp.message_templates.services.sync import templates_sync
from whatsapp.message_templates.web.editor import (
    TemplateEditorForm,
    definition_build,
    editor_problems,
    form_initial,
    preview_of,
    problems_from_fields,
)
from whatsapp.message_templates.web.picker import picker_context, picker_send

STATUS_BADGE = {
    "APPROVED": "ok",
    "PENDING": "warn",
    "IN_APPEAL": "warn",
    "FLAGGED": "warn",
    "PAUSED": "bad",
    "REJECTED": "bad",
    "DISABLED": "bad",
}
QUALITY_BADGE = {"GREEN": "ok", "YELLOW": "warn", "RED": "bad"}
FILTERS = ("status", "category", "language")


def _list_rows(request: HttpRequest) -> tuple[Any, dict[str, str]]:
    chosen = {key: request.GET.get(key, "").strip() for key in (*FILTERS, "name")}
    rows = MessageTemplate.objects.all()
    for key in FILTERS:
        if chosen[key]:
            rows = rows.filter(**{key: chosen[key]})
    if chosen["name"]:
        rows = rows.filter(name__icontains=chosen["name"])
    return rows, chosen


@require_GET
@member_required
def template_list(request: HttpRequest) -> HttpResponse:
    rows, chosen = _list_rows(request)
    templates = [
        {
            "t": template,
            "status_badge": STATUS_BADGE.get(template.status, ""),
            "quality_badge": QUALITY_BADGE.get(template.quality_score, ""),
        }
        for template in rows
    ]
    options = [
        {
            "key": key,
            "chosen": chosen[key],
            "values": sorted(set(MessageTemplate.objects.values_list(key, flat=True)) - {""}),
        }
        for key in FILTERS
    ]
    context = {
        "templates": templates,
        "chosen": chosen,
        "options": options,
        "filtered": any(chosen.values()),
        "notices": TemplateNotice.objects.select_related("template")[:10],
        "is_admin": org_role(request).is_admin,
    }
    return render(request, "message_templates/list.html", context)


@require_POST
@admin_required
def template_sync_now(request: HttpRequest) -> HttpResponse:
    try:
        result = templates_sync()
    except WhatsAppDomainError as exc:
        messages.error(request, f"Sync failed: {exc.message}")
    else:
        messages.success(
            request,
            f"Synced with Meta: {result.created} new, {result.updated} updated, "
            f"{result.deleted_at_meta} no longer at Meta.",
        )
    return redirect("templates-list")


def _editor(
    request: HttpRequest, *, template: MessageTemplate | None, form: TemplateEditorForm
) -> HttpResponse:
    """A new template starts unchecked; an existing one shows how it fares today."""
    if template is None:
        return _render_editor(request, template=None, form=form, problems=None)
    problems = editor_problems(definition_build(form.initial))
    return _render_editor(request, template=template, form=form, problems=problems)


def _render_editor(
    request: HttpRequest,
    *,
    template: MessageTemplate | None,
    form: TemplateEditorForm,
    problems: list | None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    data = form.data if form.is_bound else form.initial
    context = {
        "form": form,
        "template": template,
        "problems": problems or [],
        "checked": problems is not None,
        "preview": preview_of(definition_build(data)),
        "error": error,
    }
    return render(request, "message_templates/editor.html", context, status=status)


def _fixed_name(form: TemplateEditorForm, template: MessageTemplate) -> TemplateEditorForm:
    """An existing template keeps its name, language and kind of variables (Meta edits neither):
    read-only, still posted so the live review sees them; the submit takes them from the
    stored template anyway."""
    for name in ("name", "language"):
        form.fields[name].widget.attrs["readonly"] = True
    kind = form.fields["parameter_format"]
    kind.choices = [c for c in kind.choices if c[0] == template.parameter_format]
    return form


def _editor_form(request: HttpRequest, template: MessageTemplate | None) -> TemplateEditorForm:
    if template is None:
        return TemplateEditorForm(request.POST)
    data = request.POST.copy()
    data["name"], data["language"] = template.name, template.language
    data["parameter_format"] = template.parameter_format
    return _fixed_name(TemplateEditorForm(data), template)


def _submit(request: HttpRequest, template: MessageTemplate | None) -> HttpResponse:
    form = _editor_form(request, template)
    definition = definition_build(form.data)
    try:
        if template is None:
            saved = template_create(definition=definition)
        else:
            saved = template_edit(
                template=template,
                components=definition["components"],
                category=definition["category"],
            )
    except TemplateInvalidError as exc:
        problems = problems_from_fields(definition, exc.fields or {exc.field or "": [exc.message]})
        return _render_editor(request, template=template, form=form, problems=problems, status=400)
    except WhatsAppDomainError as exc:
        return _render_editor(
            request, template=template, form=form, problems=[], error=exc.message, status=502
        )
    verb = "submitted for review" if template is None else "changed and sent for review again"
    messages.success(request, f"{saved.name} ({saved.language}) {verb}: Meta answers shortly.")
    return redirect("templates-list")


@require_http_methods(["GET", "POST"])
@admin_required
def template_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _submit(request, None)
    return _editor(request, template=None, form=TemplateEditorForm())


@require_http_methods(["GET", "POST"])
@admin_required
def template_change(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=pk)
    if request.method == "POST":
        return _submit(request, template)
    form = _fixed_name(TemplateEditorForm(initial=form_initial(template)), template)
    return _editor(request, template=template, form=form)


@require_POST
@admin_required
def template_review_live(request: HttpRequest) -> HttpResponse:
    """The editor's live check (htmx, as the admin types): problems and preview, a fragment."""
    definition = definition_build(request.POST)
    context = {
        "problems": editor_problems(definition),
        "checked": True,
        "preview": preview_of(definition),
    }
    return render(request, "message_templates/_review.html", context)


@require_POST
@admin_required
def template_remove(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=pk)
    all_languages = request.POST.get("all_languages") == "1"
    try:
        template_delete(template=template, all_languages=all_languages)
    except WhatsAppDomainError as exc:
        messages.error(request, f"Not deleted: {exc.message}")
    else:
        messages.success(request, f"{template.name} deleted at Meta.")
    return redirect("templates-list")


@require_GET
@member_required
def template_picker(request: HttpRequest) -> HttpResponse:
    """The inbox's template picker for `?contact=<id>` (and `&template=<id>` once chosen): the
    fragment for htmx, a page of its own when opened directly (a link, no JavaScript)."""
    context = picker_context(
        contact_id=request.GET.get("contact", ""),
        template_id=request.GET.get("template", ""),
        typed=request.GET.dict(),
    )
    name = "_picker.html" if request.htmx else "picker_page.html"
    return render(request, f"message_templates/{name}", context)


@require_POST
@member_required
def template_picker_send(request: HttpRequest) -> HttpResponse:
    context = picker_send(data=request.POST)
    name = "_picker.html" if request.htmx else "picker_page.html"
    # htmx swaps only 2xx answers: a refusal is shown in the fragment, a 400 without htmx.
    status = 400 if context.get("error") and not request.htmx else 200
    return render(request, f"message_templates/{name}", context, status=status)
