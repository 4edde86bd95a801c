"""Reading a request's body through an input serializer: a 400 naming each field at fault, or the clean data."""


def validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
