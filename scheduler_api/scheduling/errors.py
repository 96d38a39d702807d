"""The one error the expression code raises."""


class ExpressionError(ValueError):
    """An expression, time zone or date that AWS would refuse or that cannot fire.

    A ValueError, so pydantic validators turn it into a 422 naming the field.
    """
