create or replace stream dest (Sym varchar(4), Total integer);
create or replace pump p as insert into dest select stream s.SYM, sum(s.Qty) as total from source_sql_stream_001 as s group by s.sym, step(s.rowtime by interval '1' minute);
