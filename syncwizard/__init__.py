"""syncwizard: a guided backup and restore of the Alfresco Sync Service."""

__version__ = "0.1.0"
