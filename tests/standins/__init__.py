"""Local stand-ins for the venues' private APIs: signatures checked, orders filled, refusals."""
