"""Declarative entity definitions of the sandbox: fields, keys, scope, seed generators, describe.

Field names, kinds and representations follow docs/lgfapi.md 2.10 and 5.2. Every field carries the SQL
expression that seeds it (see data.py for the tokens `i`, `H<n>`, `N_<entity>`, `CTS`, `MTS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("pk", "fk", "status", "int", "decimal", "string", "flg", "ts", "date", "set", "json")
INT_LIMIT = 99999999999


@dataclass(frozen=True)
class Field:
    """One entity field; `kind` decides storage, rendering, casting and describe type."""

    name: str
    kind: str
    gen: str = "NULL"
    target: str = ""  # fk / set: target entity
    exposed: bool = True  # fk: False renders url "" (docs/lgfapi.md 2.10)
    null: bool = False
    max_length: int = 0
    required: bool = False
    default: Any = None
    back: str = ""  # set: the fk field on the target pointing back here
    reverse: str = ""  # set: Django reverse query name used in `xxx__isnull`
    on_request: bool = False  # only rendered when named in `fields` (docs/lgfapi.md 2.4)


@dataclass(frozen=True)
class Entity:
    """One lgfapi entity (or a hidden relation target when `exposed` is False)."""

    name: str
    fields: tuple[Field, ...]
    per: int = 1  # seeded rows = max(min_rows, scale // per); static rows override
    min_rows: int = 10
    key: str = "''"  # SQL over alias x giving the FK `key` string
    facility_col: str = ""  # eligibility scope columns (docs/lgfapi.md 3.3)
    company_col: str = ""
    exposed: bool = True
    limited_readable: bool = True
    table: str = ""  # a view over another table (oblpn = container type O)
    where: str = ""
    skip: str = ""  # seed rows whose i satisfies this SQL are not inserted (id gaps)
    post: tuple[str, ...] = ()  # SET clauses run after insert (derived/hidden columns)
    hidden: tuple[tuple[str, str], ...] = ()  # (column, sql type) not exposed by the API
    combos: tuple[tuple[str, ...], ...] = ()  # required filter combinations (docs/lgfapi.md 6.1)
    static: tuple[dict[str, Any], ...] = ()  # fixed rows for lookups/master data

    @property
    def sql_table(self) -> str:
        """Physical table name (a view entity shares its base table)."""
        return self.table or self.name

    @property
    def by_name(self) -> dict[str, Field]:
        """Fields keyed by name."""
        return {f.name: f for f in fields_of(self)}

    @property
    def has_mod_ts(self) -> bool:
        """Whether the entity is time-tracked (Last-Modified, activity updates)."""
        return "mod_ts" in self.by_name


# ---- field helpers (keep the entity table below short) ---------------------------------------


def pk() -> Field:
    """Integer primary key."""
    return Field("id", "pk", "i", required=True)


def fk(name: str, target: str, gen: str, *, exposed: bool = True, null: bool = False) -> Field:
    """Relation rendered as {id,key,url}; null when optional and absent."""
    return Field(name, "fk", gen, target=target, exposed=exposed, null=null, required=not null,
                 default=None if null else 0)


def status(gen: str) -> Field:
    """Bare integer status (docs/lgfapi.md 2.10 exception)."""
    return Field("status_id", "status", gen, required=True, default=0)


def num(name: str, gen: str, default: int = 0) -> Field:
    """Integer field with min/max in describe."""
    return Field(name, "int", gen, default=default)


def dec(name: str, gen: str, *, null: bool = False) -> Field:
    """Decimal rendered as a JSON string."""
    return Field(name, "decimal", gen, null=null, default=None if null else "0.0")


def txt(name: str, n: int, gen: str = "''", *, required: bool = False) -> Field:
    """String; blank is "" not null."""
    return Field(name, "string", gen, max_length=n, required=required, default="")


def flg(name: str, gen: str, default: bool = False) -> Field:
    """Boolean `*_flg` field."""
    return Field(name, "flg", gen, default=default)


def ts(name: str, gen: str, *, null: bool = True) -> Field:
    """Date-time stored as UTC microseconds."""
    return Field(name, "ts", gen, null=null)


def day(name: str, gen: str, *, null: bool = True) -> Field:
    """Date stored as YYYY-MM-DD."""
    return Field(name, "date", gen, null=null)


def rset(name: str, target: str, back: str) -> Field:
    """Reverse set `{result_count, url}` or null."""
    return Field(name, "set", target=target, back=back, reverse=target.replace("_", ""))


def days_after(base: str, expr: str) -> str:
    """SQL date `expr` days after the microsecond timestamp `base`."""
    return f"date(({base}) / 1000000 + ({expr}) * 86400, 'unixepoch')"


def audit() -> tuple[Field, ...]:
    """The four audit fields every time-tracked entity carries (docs/lgfapi.md 2.9)."""
    return (
        txt("create_user", 30, "printf('USER%02d', H91 % 20)"),
        Field("create_ts", "ts", "CTS", default="now"),
        txt("mod_user", 30, "printf('USER%02d', H92 % 20)"),
        Field("mod_ts", "ts", "MTS", default="now"),
    )


def cust(prefix: str, n: int, gen: str, size: int = 50) -> tuple[Field, ...]:
    """A run of customer columns (cust_field_1..n, ...), docs/lgfapi.md 2.10."""
    if prefix == "cust_decimal":
        return tuple(dec(f"{prefix}_{k}", gen.replace("K", str(k))) for k in range(1, n + 1))
    if prefix == "cust_number":
        return tuple(num(f"{prefix}_{k}", gen.replace("K", str(k))) for k in range(1, n + 1))
    if prefix == "cust_date":
        return tuple(day(f"{prefix}_{k}", gen.replace("K", str(k))) for k in range(1, n + 1))
    return tuple(txt(f"{prefix}_{k}", size, gen.replace("K", str(k))) for k in range(1, n + 1))


def lookup(name: str, codes: list[tuple[int, str]], *, exposed: bool = True) -> Entity:
    """Small lookup table without create_ts/mod_ts (docs/lgfapi.md 2.9: not all entities have them)."""
    return Entity(
        name,
        (pk(), txt("code", 30, required=True), txt("description", 100)),
                key="x.description",
        exposed=exposed,
        static=tuple({"id": i, "code": c.upper().replace(" ", "_")[:30], "description": c}
                     for i, c in codes),
    )


FAC = "1 + H11 % 2"  # facility DC01/DC02
CO = "1 + H12 % 2"  # company ACME/GLOBEX
QTY = "printf('%d', 1 + H21 % 48)"
SCOPE_POST = "_facility_id = (SELECT p.{col_f} FROM {parent} p WHERE p.id = {t}.{fkcol}), " \
             "_company_id = (SELECT p.{col_c} FROM {parent} p WHERE p.id = {t}.{fkcol})"


def scope_from(table: str, parent: str, fkcol: str, col_f: str = "facility_id",
               col_c: str = "company_id") -> str:
    """SET clause copying the eligibility scope of a parent row into hidden columns."""
    return SCOPE_POST.format(col_f=col_f, col_c=col_c, parent=parent, t=table, fkcol=fkcol)


HIDDEN_SCOPE = (("_facility_id", "INTEGER"), ("_company_id", "INTEGER"))

ORDER_STATUS = [(0, "Created"), (10, "Partly Allocated"), (20, "Allocated"), (25, "In Picking"),
                (27, "Picked"), (30, "In Packing"), (40, "Packed"), (50, "Loaded"),
                (90, "Shipped"), (99, "Cancelled")]
STATUS_GEN = "CASE H31 % 10 WHEN 0 THEN 0 WHEN 1 THEN 10 WHEN 2 THEN 20 WHEN 3 THEN 30 " \
             "WHEN 4 THEN 40 WHEN 5 THEN 50 WHEN 9 THEN 99 ELSE 90 END"

ENTITIES: tuple[Entity, ...] = (
    Entity("company", (
        pk(), *audit(), txt("code", 30, required=True), txt("name", 100),
        fk("company_type_id", "company_type", "1 + i % 2"),
        fk("parent_company_id", "company", "NULL", null=True),
        txt("address_1", 100, "printf('%d Commerce Way', 100 + i)"), txt("address_2", 100),
        txt("city", 50), txt("state", 3), txt("zip", 10), txt("country", 3, "'US'"),
        flg("active_flg", "1", default=True),
    ), key="x.code", company_col="id",
        static=({"id": 1, "code": "ACME", "name": "Acme Corporation", "city": "Newark",
                 "state": "NJ", "zip": "07102"},
                {"id": 2, "code": "GLOBEX", "name": "Globex Brasil Ltda", "city": "Campinas",
                 "state": "SP", "zip": "13010", "country": "BR"})),
    Entity("facility", (
        pk(), *audit(), txt("code", 30, required=True), txt("name", 100),
        fk("parent_company_id", "company", "i"),
        fk("facility_type_id", "facility_type", "1"),
        txt("address_1", 100, "printf('%d Warehouse Rd', 10 * i)"), txt("city", 50),
        txt("state", 3), txt("zip", 10), txt("time_zone_name", 50),
        flg("active_flg", "1", default=True),
    ), key="x.code", facility_col="id",
        static=({"id": 1, "code": "DC01", "name": "Newark DC", "city": "Newark", "state": "NJ",
                 "zip": "07114", "time_zone_name": "America/New_York"},
                {"id": 2, "code": "DC02", "name": "Sao Paulo DC", "city": "Sao Paulo",
                 "state": "SP", "zip": "01000", "time_zone_name": "America/Sao_Paulo"})),
    lookup("company_type", [(1, "Retail"), (2, "Wholesale")]),
    lookup("facility_type", [(1, "Distribution Center"), (2, "Store")]),
    lookup("order_status", ORDER_STATUS),
    lookup("order_type", [(1, "Retail Order"), (2, "Ecommerce"), (3, "Transfer")]),
    lookup("task_type", [(1, "Full LPN Pick"), (2, "Replenishment"), (3, "Cycle Count")]),
    lookup("history_activity", [(1, "Container Received"), (3, "Container Shipped"),
                                (17, "Inventory Adjustment"), (51, "Inventory Movement")]),
    lookup("uom", [(1, "Units"), (2, "Packs"), (3, "Cases"), (4, "Pallets")]),
    lookup("allocation_type", [(1, "Separacao Ativa"), (2, "Reserve Pick")], exposed=False),
    lookup("lpn_type", [(1, "Pallet"), (2, "Carton")], exposed=False),
    Entity("vendor", (
        pk(), *audit(), fk("company_id", "company", CO), txt("vendor_code", 30, "printf('V%05d', i)"),
        txt("name", 100, "printf('Vendor %d', i)"), txt("city", 50, "'Houston'"),
    ), per=100, min_rows=5, key="x.vendor_code", company_col="company_id"),
    Entity("item", (
        pk(), *audit(), fk("company_id", "company", CO), txt("code", 25, "printf('SKU%06d', i)"),
        txt("description", 100, "printf('Widget model %d', H41 % 900)"),
        txt("barcode", 40, "printf('789%010d', i)"),
        txt("item_alternate_code", 25, "CASE WHEN i % 3 = 0 THEN printf('ALT%d', i) ELSE '' END"),
        *(txt(f"part_{c}", 25, f"CASE WHEN H4{k} % 2 = 0 THEN '{c.upper()}' || (H4{k} % 99) ELSE '' END")
          for k, c in enumerate("abcdef")),
        dec("unit_cost", "printf('%d.%02d', 1 + H51 % 300, H52 % 100)"),
        dec("unit_weight", "printf('%d.%d', H53 % 40, H54 % 10)"),
        flg("is_serial_tracked_flg", "H55 % 7 = 0"),
        Field("image_data", "string", "printf('iVBORw0KGgoAAAANSUhEUgAA%08d', i)", max_length=200,
              default="", on_request=True),
    ), per=10, min_rows=10, key="x.code", company_col="company_id"),
    Entity("location", (
        pk(), *audit(), fk("facility_id", "facility", FAC),
        txt("locn_str", 100, "printf('%s-%02d-%02d-%s', char(65 + H61 % 6), H62 % 40, H63 % 12, "
            "char(65 + H64 % 4))"),
        txt("barcode", 40, "printf('L%08d', i)"), flg("to_be_counted_flg", "H65 % 9 = 0"),
        ts("to_be_counted_ts", "CASE WHEN H65 % 9 = 0 THEN CTS + 86400000000 ELSE NULL END"),
        num("max_units", "100 * (1 + H66 % 20)"),
        fk("dedicated_company_id", "company", "CASE WHEN H67 % 5 = 0 THEN 1 END", null=True),
        Field("geo_coords", "json", "json_object('x', H68 % 500, 'y', H69 % 300, 'z', H70 % 5)",
              null=True),
        *cust("cust_field", 3, "CASE WHEN H7K % 4 = 0 THEN 'LC' || (H7K % 77) ELSE '' END"),
    ), per=5, min_rows=20, key="x.locn_str", facility_col="facility_id"),
    Entity("container", (
        pk(), *audit(), fk("facility_id", "facility", FAC), fk("company_id", "company", CO),
        txt("container_nbr", 50, "printf('%s%09d', CASE WHEN i % 2 THEN 'OB' ELSE 'IB' END, i)"),
        txt("type", 1, "CASE WHEN i % 2 THEN 'O' ELSE 'I' END"),
        status("CASE H81 % 4 WHEN 0 THEN 0 WHEN 1 THEN 10 WHEN 2 THEN 30 ELSE 90 END"),
        fk("curr_location_id", "location", "1 + H82 % N_location", null=True),
        fk("lpn_type_id", "lpn_type", "1 + i % 2", exposed=False),
        dec("length", "printf('%d.0', 20 + H83 % 40)"), dec("width", "printf('%d.0', 20 + H84 % 30)"),
        dec("height", "printf('%d.0', 10 + H85 % 30)"), dec("weight", "printf('%d.%d', H86 % 90, H87 % 10)"),
        flg("actual_weight_flg", "H88 % 3 = 0"),
        ts("rcvd_ts", "CASE WHEN i % 2 = 0 THEN CTS + 7200000000 END"),
        txt("cart_nbr", 25), num("nbr_files", "0"),
    ), per=4, min_rows=10, key="x.container_nbr", facility_col="facility_id",
        company_col="company_id"),
    Entity("oblpn", (), table="container", where="t.type = 'O'", key="x.container_nbr",
           facility_col="facility_id", company_col="company_id"),
    Entity("iblpn", (), table="container", where="t.type = 'I'", key="x.container_nbr",
           facility_col="facility_id", company_col="company_id"),
    Entity("inventory", (
        pk(), *audit(), fk("facility_id", "facility", FAC), fk("company_id", "company", CO),
        fk("item_id", "item", "1 + H101 % N_item"),
        fk("location_id", "location", "CASE WHEN H102 % 3 THEN 1 + H103 % N_location END", null=True),
        fk("container_id", "container", "CASE WHEN H102 % 3 <> 1 THEN 1 + H104 % N_container END",
           null=True),
        dec("curr_qty", QTY), dec("orig_qty", QTY), dec("pack_qty", "'1'"), dec("case_qty", "'12'"),
        txt("batch_number", 50, "CASE WHEN H105 % 4 = 0 THEN printf('B%05d', H106 % 9999) ELSE '' END"),
        day("expiry_date", "CASE WHEN H105 % 4 = 0 THEN " + days_after("CTS", "180 + H107 % 365") + " END"),
        day("manufacture_date", "CASE WHEN H105 % 4 = 0 THEN " + days_after("CTS", "-(H108 % 60)") + " END"),
        fk("invn_attr_id", "inventory_attribute", "NULL", null=True, exposed=False),
    ), per=2, min_rows=10, facility_col="facility_id", company_col="company_id"),
    Entity("inventory_attribute", (pk(), txt("invn_attr_a", 30)), exposed=False, static=({"id": 1},)),
    Entity("wave", (
        pk(), *audit(), fk("facility_id", "facility", FAC), fk("company_id", "company", CO),
        txt("wave_nbr", 30, "printf('W%07d', i)"),
        status("CASE H111 % 3 WHEN 0 THEN 10 WHEN 1 THEN 20 ELSE 90 END"),
        fk("wave_template_id", "wave_template", "1", exposed=False),
        ts("run_ts", "CTS + 600000000", null=False), num("order_count", "5 + H112 % 50"),
    ), per=100, min_rows=3, key="x.wave_nbr", facility_col="facility_id",
        company_col="company_id"),
    lookup("wave_template", [(1, "Daily Ecom")], exposed=False),
    Entity("order_hdr", (
        pk(), *audit(), fk("facility_id", "facility", FAC), fk("company_id", "company", CO),
        txt("order_nbr", 50, "printf('ORD%08d', i)", required=True),
        fk("order_type_id", "order_type", "1 + H121 % 3"), status(STATUS_GEN),
        day("ord_date", days_after("CTS", "0"), null=False),
        day("exp_date", days_after("CTS", "2 + H122 % 10")),
        day("req_ship_date", days_after("CTS", "1 + H123 % 7")),
        ts("order_shipped_ts", "CASE WHEN " + STATUS_GEN + " = 90 THEN CTS + 86400000000 END"),
        fk("ship_via_id", "ship_via", "1 + H124 % 2", exposed=False),
        fk("dest_facility_id", "facility", "CASE WHEN H125 % 10 = 0 THEN 2 END", null=True),
        num("priority", "1 + H126 % 9"), txt("cust_name", 100, "printf('Customer %d', H127 % 5000)"),
        txt("cust_addr", 100, "printf('%d Main St', H128 % 999)"), txt("cust_city", 50, "'Springfield'"),
        txt("dept_code", 30), dec("total_orig_ord_qty", QTY),
        dec("orig_sale_price", "printf('%d.%02d', H129 % 900, H130 % 100)"),
        flg("stop_ship_flg", "H131 % 50 = 0"), flg("externally_planned_load_flg", "0"),
        *cust("cust_field", 5, "CASE WHEN H13K % 3 = 0 THEN 'F' || (H13K % 100) ELSE '' END"),
        rset("order_dtl_set", "order_dtl", "order_id"),
    ), per=4, min_rows=10, key="x.order_nbr", facility_col="facility_id",
        company_col="company_id"),
    lookup("ship_via", [(1, "UPS Ground"), (2, "FedEx 2Day")], exposed=False),
    Entity("order_dtl", (
        pk(), *audit(), fk("order_id", "order_hdr", "1 + (i - 1) % N_order_hdr"),
        num("seq_nbr", "1 + (i - 1) / N_order_hdr"), fk("item_id", "item", "1 + H141 % N_item"),
        status(STATUS_GEN), dec("ord_qty", QTY), dec("orig_ord_qty", QTY),
        dec("alloc_qty", "printf('%d', H21 % 30)"),
        dec("cost", "printf('%d.%02d', 1 + H142 % 200, H143 % 100)"),
        dec("sale_price", "printf('%d.%02d', 2 + H144 % 400, H145 % 100)"),
        dec("unit_declared_value", "'0'"), dec("ordered_uom_qty", QTY),
        fk("ob_lpn_type_id", "lpn_type", "CASE WHEN H146 % 4 = 0 THEN 2 END", null=True,
           exposed=False),
        *cust("cust_field", 5, "CASE WHEN H15K % 3 = 0 THEN 'D' || (H15K % 100) ELSE '' END"),
        *cust("cust_date", 2, "CASE WHEN H16K % 5 = 0 THEN " + days_after("CTS", "H16K % 30") + " END"),
        *cust("cust_decimal", 3, "printf('%d.%d', H17K % 100, H17K % 10)"),
        *cust("cust_number", 2, "H18K % 1000"),
        *cust("cust_short_text", 3, "CASE WHEN H19K % 2 = 0 THEN 'T' || (H19K % 50) ELSE '' END", 30),
    ), per=1, min_rows=10, skip="((i - 1) % N_order_hdr + 1) % 10 = 0",
        key="x._key", hidden=(*HIDDEN_SCOPE, ("_key", "TEXT")),
        facility_col="_facility_id", company_col="_company_id",
        post=(scope_from("order_dtl", "order_hdr", "order_id"),
              "_key = (SELECT p.order_nbr FROM order_hdr p WHERE p.id = order_dtl.order_id)"
              " || ',' || order_dtl.seq_nbr")),
    Entity("task", (
        pk(), *audit(), fk("facility_id", "facility", FAC), fk("company_id", "company", CO),
        txt("task_nbr", 30, "printf('T%08d', i)"), fk("task_type_id", "task_type", "1 + H201 % 3"),
        status("CASE H202 % 3 WHEN 0 THEN 0 WHEN 1 THEN 10 ELSE 90 END"),
        num("priority", "1 + H203 % 9"), txt("assigned_user", 30, "CASE WHEN H204 % 2 THEN "
                                              "printf('USER%02d', H204 % 20) ELSE '' END"),
        fk("curr_location_id", "location", "1 + H205 % N_location", null=True),
        ts("start_ts", "CASE WHEN H202 % 3 THEN CTS + 300000000 END"),
        ts("end_ts", "CASE WHEN H202 % 3 = 2 THEN CTS + 900000000 END"),
    ), per=4, min_rows=10, key="x.task_nbr", facility_col="facility_id",
        company_col="company_id"),
    Entity("allocation", (
        pk(), *audit(), fk("order_dtl_id", "order_dtl", "1 + H211 % N_order_dtl"),
        fk("from_inventory_id", "inventory", "1 + H212 % N_inventory"),
        fk("to_inventory_id", "inventory", "CASE WHEN H213 % 2 THEN 1 + H214 % N_inventory END", null=True),
        status("CASE H215 % 3 WHEN 0 THEN 0 WHEN 1 THEN 30 ELSE 90 END"),
        dec("alloc_qty", "printf('%d', 1 + H216 % 24)"), dec("packed_qty", "printf('%d', H217 % 24)"),
        fk("type_id", "allocation_type", "1 + H218 % 2", exposed=False),
        fk("wave_id", "wave", "1 + H219 % N_wave", exposed=False),
        fk("task_id", "task", "CASE WHEN H220 % 4 THEN 1 + H220 % N_task END", null=True),
        fk("alloc_uom_id", "uom", "1 + H221 % 3"),
        fk("cartonize_uom_id", "uom", "NULL", null=True),
        num("task_seq_nbr", "H222 % 40"), txt("pick_user", 30, "printf('USER%02d', H223 % 20)"),
        ts("picked_ts", "CASE WHEN H215 % 3 = 2 THEN CTS + 1800000000 END"),
        txt("pick_locn_str", 100, "printf('A-%02d-%02d', H224 % 40, H225 % 12)"),
        txt("final_oblpn_nbr", 30), flg("is_picking_flg", "H226 % 4 > 0", default=True),
    ), per=2, min_rows=10, hidden=HIDDEN_SCOPE, facility_col="_facility_id",
        company_col="_company_id",
        post=("order_dtl_id = (SELECT max(d.id) FROM order_dtl d WHERE d.id <= allocation.order_dtl_id)",
              scope_from("allocation", "order_dtl", "order_dtl_id", "_facility_id", "_company_id"))),
    Entity("ib_shipment", (
        pk(), *audit(), fk("facility_id", "facility", FAC), fk("company_id", "company", CO),
        txt("shipment_nbr", 50, "printf('ASN%07d', i)"), status("CASE H231 % 3 WHEN 0 THEN 10 "
                                                                  "WHEN 1 THEN 30 ELSE 90 END"),
        fk("vendor_id", "vendor", "1 + H232 % N_vendor", null=True),
        txt("trailer_nbr", 30, "printf('TR%04d', H233 % 5000)"), txt("load_nbr", 30),
        day("ship_date", days_after("CTS", "-1")), ts("arrived_ts", "CASE WHEN H231 % 3 THEN CTS END"),
        *cust("cust_field", 3, "CASE WHEN H24K % 3 = 0 THEN 'S' || (H24K % 100) ELSE '' END"),
        rset("ib_shipment_dtl_set", "ib_shipment_dtl", "ib_shipment_id"),
    ), per=20, min_rows=5, key="x.shipment_nbr", facility_col="facility_id",
        company_col="company_id"),
    Entity("ib_shipment_dtl", (
        pk(), *audit(), fk("ib_shipment_id", "ib_shipment", "1 + (i - 1) % N_ib_shipment"),
        num("seq_nbr", "1 + (i - 1) / N_ib_shipment"), fk("item_id", "item", "1 + H251 % N_item"),
        status("CASE H252 % 2 WHEN 0 THEN 10 ELSE 90 END"), dec("shipped_qty", QTY),
        dec("received_qty", "printf('%d', H253 % 48)"), txt("po_nbr", 50, "printf('PO%07d', H254 % 999)"),
        fk("container_id", "container", "CASE WHEN H255 % 2 THEN 1 + H256 % N_container END", null=True),
    ), per=4, min_rows=10, skip="((i - 1) % N_ib_shipment + 1) % 7 = 0", key="x._key",
        hidden=(*HIDDEN_SCOPE, ("_key", "TEXT")), facility_col="_facility_id",
        company_col="_company_id",
        post=(scope_from("ib_shipment_dtl", "ib_shipment", "ib_shipment_id"),
              "_key = (SELECT p.shipment_nbr FROM ib_shipment p WHERE p.id = "
              "ib_shipment_dtl.ib_shipment_id) || ',' || ib_shipment_dtl.seq_nbr")),
    Entity("purchase_order_hdr", (
        pk(), *audit(), fk("facility_id", "facility", FAC), fk("company_id", "company", CO),
        txt("po_nbr", 50, "printf('PO%07d', i)"), status("CASE H261 % 2 WHEN 0 THEN 0 ELSE 90 END"),
        day("ord_date", days_after("CTS", "0"), null=False),
        fk("vendor_id", "vendor", "1 + H262 % N_vendor", null=True), txt("ref_nbr", 50),
        day("delivery_date", days_after("CTS", "5 + H263 % 20")), day("cancel_date", "NULL"),
        txt("dept_code", 30), txt("cust_nbr", 30), txt("cust_name", 50),
        *cust("cust_field", 5, "CASE WHEN H27K % 4 = 0 THEN 'P' || (H27K % 100) ELSE '' END"),
        rset("purchase_order_dtl_set", "purchase_order_dtl", "purchase_order_id"),
    ), per=20, min_rows=5, key="x.po_nbr", facility_col="facility_id",
        company_col="company_id"),
    Entity("purchase_order_dtl", (
        pk(), *audit(), fk("purchase_order_id", "purchase_order_hdr", "1 + (i - 1) % N_purchase_order_hdr"),
        num("seq_nbr", "1 + (i - 1) / N_purchase_order_hdr"), fk("item_id", "item", "1 + H281 % N_item"),
        status("CASE H282 % 2 WHEN 0 THEN 0 ELSE 90 END"), dec("ord_qty", QTY),
        dec("shipped_qty", "printf('%d', H283 % 48)"),
    ), per=5, min_rows=10, skip="((i - 1) % N_purchase_order_hdr + 1) % 5 = 0",
        hidden=HIDDEN_SCOPE, facility_col="_facility_id", company_col="_company_id",
        post=(scope_from("purchase_order_dtl", "purchase_order_hdr", "purchase_order_id"),)),
    Entity("inventory_history", (
        pk(), txt("create_user", 30, "printf('USER%02d', H91 % 20)"),
        Field("create_ts", "ts", "CTS", default="now"),
        fk("facility_id", "facility", FAC), fk("company_id", "company", CO),
        fk("history_activity_id", "history_activity",
           "CASE H291 % 4 WHEN 0 THEN 1 WHEN 1 THEN 3 WHEN 2 THEN 17 ELSE 51 END"),
        status("CASE H292 % 2 WHEN 0 THEN 10 ELSE 90 END"), txt("group_nbr", 30, "printf('G%06d', i / 7)"),
        txt("item_code", 25, "printf('SKU%06d', 1 + H293 % N_item)"),
        txt("item_alternate_code", 25), txt("container_nbr", 50, "printf('IB%09d', 2 * (1 + H294 % 500))"),
        txt("ref_nbr", 50, "printf('REF%d', H295 % 9999)"), dec("orig_qty", QTY),
        dec("adj_qty", "printf('%d', (H296 % 21) - 10)"), txt("reason_code", 30),
    ), per=1, min_rows=20, facility_col="facility_id", company_col="company_id",
        combos=(("company_id__code", "facility_id__code", "group_nbr"),
                ("company_id__code", "facility_id__code", "history_activity_id", "status_id"),
                ("company_id__code", "facility_id__code", "history_activity_id", "item_code"),
                ("company_id__code", "facility_id__code", "history_activity_id", "item_alternate_code"),
                ("company_id__code", "facility_id__code", "history_activity_id", "container_nbr"))),
    Entity("user", (
        pk(), *audit(), txt("username", 150, "printf('user%03d', i)"),
        txt("first_name", 30, "printf('First%d', i)"), txt("last_name", 30, "printf('Last%d', i)"),
        txt("email", 254, "printf('user%03d@example.com', i)"),
        fk("default_facility_id", "facility", "1 + i % 2", null=True),
        fk("default_company_id", "company", "1 + i % 2", null=True),
        flg("active_flg", "i % 10 <> 0", default=True), num("rows_per_page", "25", default=25),
        ts("last_login_ts", "CTS + 3600000000"),
    ), per=1000, min_rows=5, key="x.username", limited_readable=False),
)

BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}


def fields_of(entity: Entity) -> tuple[Field, ...]:
    """Fields of an entity, resolving view entities to their base table's fields."""
    return entity.fields or BY_NAME[entity.table].fields


def exposed_entities() -> list[Entity]:
    """Entities listed in the catalog, sorted by name (docs/lgfapi.md 1.4)."""
    return sorted((e for e in ENTITIES if e.exposed), key=lambda e: e.name)


LGF_TYPES = {"pk": "primary key", "fk": "relation", "status": "integer", "int": "integer",
             "decimal": "decimal", "string": "string", "flg": "boolean", "ts": "datetime",
             "date": "date", "set": "set", "json": "json"}
DJANGO_TYPES = {"pk": "AutoField", "fk": "ForeignKey", "status": "IntegerField",
                "int": "IntegerField", "decimal": "DecimalField", "string": "CharField",
                "flg": "BooleanField", "ts": "DateTimeField", "date": "DateField",
                "set": "RelatedManager", "json": "JSONField"}


UNKNOWN_KINDS = ("json",)  # describe types a client may not know (location.geo_coords)


def api_fields(entity: Entity, unknown_types: bool = False) -> tuple[Field, ...]:
    """Fields the API shows; those of an unknown describe type only with knob unknown_types=on.

    The column is stored either way, so the seeded data does not depend on the knob.
    """
    return tuple(f for f in fields_of(entity) if unknown_types or f.kind not in UNKNOWN_KINDS)


def describe(entity: Entity, dialect: str = "lgf", unknown_types: bool = False) -> dict[str, Any]:
    """Describe payload: filterable `parameters` plus per-field metadata (docs/lgfapi.md 1.5)."""
    types = DJANGO_TYPES if dialect == "django" else LGF_TYPES
    out: dict[str, Any] = {}
    for f in api_fields(entity, unknown_types):
        meta: dict[str, Any] = {"type": types[f.kind], "required": f.required}
        if f.kind == "string":
            meta.update(max_length=f.max_length, allow_blank=not f.required)
        if f.kind in ("int", "status"):
            meta.update(min_value=-INT_LIMIT, max_value=INT_LIMIT)
        if f.kind == "fk":
            meta["related_entity"] = f.target
        if not f.required and f.kind not in ("set", "pk"):
            meta["default"] = f.default
        out[f.name] = meta
    params = [f.name for f in fields_of(entity) if f.kind not in ("set", "json")]
    return {"parameters": params, "fields": out}


__all__ = ["BY_NAME", "ENTITIES", "KINDS", "Entity", "Field", "api_fields", "describe",
           "exposed_entities", "fields_of"]
