-- docker-compose.yml: the county payment service keeps its payables in a database of its own.
CREATE DATABASE onebill_county OWNER onebill;
