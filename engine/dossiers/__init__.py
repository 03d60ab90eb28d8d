"""Documents kept in a case for the organisation holding it: letters a protocol generates for
its own use, documents filed from its inbox into a dossier; exporting and destroying a dossier."""
