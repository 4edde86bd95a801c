"""Small pieces every server-rendered view uses."""

from django.contrib.auth.decorators import user_passes_test

platform_admin_required = user_passes_test(lambda user: user.is_authenticated and user.is_platform_admin)


def form_add_errors(form, exc):
    """Show a service's ValidationError on the form: under its field, or above the form."""
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def messages_add_errors(request, exc):
    """Show a service's ValidationError as messages on the next page: "field: reason", or the reason alone."""
    from django.contrib import messages

    for field, errors in exc.message_dict.items():
        for error in errors:
            messages.error(request, f"{field}: {error}" if field != "__all__" else error)
