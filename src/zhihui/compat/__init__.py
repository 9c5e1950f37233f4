"""Other systems' protocols over our services: the CKAN Action API, DCAT-AP."""
