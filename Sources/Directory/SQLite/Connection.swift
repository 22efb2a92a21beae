#if canImport(Glibc)
import Glibc
#endif
import CSQLite
import SyncRules
import Synchronization

private let sqlCounter = Atomic<Int>(0)

/// Process-wide SQLite settings, applied once before the first connection opens.
private let configured: Bool = {
    _ = csqlite_disable_memstatus()
    return true
}()

/// A hot-path statement: its text plus a small integer id, so the statement cache is an
/// array lookup rather than hashing the SQL text on every call.
struct SQL: Sendable {
    let text: String
    let id: Int
    init(_ text: String) {
        self.text = text
        id = sqlCounter.add(1, ordering: .relaxed).oldValue
    }
}

/// An error from SQLite with the statement it came from; the store wraps it with the tenant.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var sql: String?

    /// True for a UNIQUE / PRIMARY KEY violation (SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY).
    public var isUniqueViolation: Bool { code == 2067 || code == 1555 }
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
    /// Busy, locked, I/O error, full disk, cannot open: the store, not the data, is at fault.
    public var isUnavailable: Bool {
        isBusy || [SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN].contains(code & 0xff)
    }

    public var description: String { "sqlite error \(code): \(message)" }
}

/// One SQLite connection with a statement cache. Not thread-safe: its owner serialises use.
final class Connection {
    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]
    private var fast: [Statement?] = []

    init(path: String) throws {
        _ = configured
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: "\(path): \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        _ = csqlite_disable_dqs(db)
    }

    deinit {
        statements.removeAll()
        fast.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32, _ sql: String? = nil) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements without parameters (schema, pragmas).
    func execute(_ sql: String) throws {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql) }
    }

    func prepare(_ sql: String) throws -> Statement {
        if let s = statements[sql] { return s }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, sql) }
        let s = Statement(stmt, connection: self, sql: sql)
        statements[sql] = s
        return s
    }

    func prepare(_ sql: SQL) throws -> Statement {
        if sql.id < fast.count, let s = fast[sql.id] { return s }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql.text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, sql.text) }
        let s = Statement(stmt, connection: self, sql: sql.text)
        if fast.count <= sql.id { fast.append(contentsOf: [Statement?](repeating: nil, count: sql.id - fast.count + 1)) }
        fast[sql.id] = s
        return s
    }

    // Each call form prepares (cached) and hands over to the statement, which binds,
    // steps and resets.

    // The hot-path forms take their arguments as a parameter pack: each call is
    // specialised for its argument types, where a `SQLBindable?...` array boxed every
    // argument in an existential (a fifth of a first import's binding cost).

    @discardableResult
    func run<each A: SQLBindable>(_ sql: SQL, _ args: repeat each A) throws -> Int {
        let s = try prepare(sql)
        try s.bind(repeat each args)
        return try s.runBound()
    }

    func first<each A: SQLBindable, T>(_ sql: SQL, _ args: repeat each A, map: (Row) throws -> T) throws -> T? {
        let s = try prepare(sql)
        try s.bind(repeat each args)
        return try s.firstBound(map: map)
    }

    func query<each A: SQLBindable, T>(_ sql: SQL, _ args: repeat each A, map: (Row) throws -> T) throws -> [T] {
        let s = try prepare(sql)
        try s.bind(repeat each args)
        return try s.allBound(map: map)
    }

    /// Executes a statement that returns no rows.
    @discardableResult
    func run(_ sql: String, _ args: SQLBindable?...) throws -> Int { try prepare(sql).run(args) }

    /// Rows of a query, each turned into a value by `map`.
    func query<T>(_ sql: String, _ args: SQLBindable?..., map: (Row) throws -> T) throws -> [T] {
        try prepare(sql).all(args, map: map)
    }

    func query<T>(_ sql: String, arguments args: [SQLBindable?], map: (Row) throws -> T) throws -> [T] {
        try prepare(sql).all(args, map: map)
    }

    func first<T>(_ sql: String, _ args: SQLBindable?..., map: (Row) throws -> T) throws -> T? {
        try prepare(sql).first(args, map: map)
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// How long a statement waits for another connection's lock (`PRAGMA busy_timeout`
    /// without parsing one).
    func setBusyTimeout(milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }
}

/// A prepared statement, cached by its SQL text.
final class Statement {
    let stmt: OpaquePointer
    let sql: String
    unowned let connection: Connection

    /// How many `?` the statement takes: every bind sets them all.
    let parameterCount: Int32

    init(_ stmt: OpaquePointer, connection: Connection, sql: String) {
        self.stmt = stmt
        self.connection = connection
        self.sql = sql
        parameterCount = sqlite3_bind_parameter_count(stmt)
    }

    /// The bytes of the text and blobs bound (every form binds from it, `SQLITE_STATIC`),
    /// kept until the next bind starts over. Only binding touches it, on the connection's
    /// one thread, so its accesses go unchecked.
    @exclusivity(unchecked) private var arena = BindArena()

    deinit {
        sqlite3_finalize(stmt)
        arena.release()
    }

    func bind(_ args: [SQLBindable?]) throws {
        arena.begin()
        for (i, arg) in args.enumerated() {
            let idx = Int32(i + 1)
            let rc = arg?.bind(to: stmt, at: idx, arena: &arena) ?? sqlite3_bind_null(stmt, idx)
            guard rc == SQLITE_OK else { throw connection.error(rc, sql) }
        }
        nullFrom(Int32(args.count) + 1)
    }

    func bind<each A: SQLBindable>(_ args: repeat each A) throws {
        arena.begin()
        var idx: Int32 = 0
        for arg in repeat each args {
            idx += 1
            let rc = arg.bind(to: stmt, at: idx, arena: &arena)
            guard rc == SQLITE_OK else { throw connection.error(rc, sql) }
        }
        nullFrom(idx + 1)
    }

    /// Starts binding a statement parameter by parameter (`bindRow`), a row at a time.
    func beginRows() { arena.begin() }

    /// Binds one row of a multi-row statement, parameters `first` onwards: the text of
    /// every row stays in the arena until the next `beginRows` or `bind`.
    func bindRow<each A: SQLBindable>(at first: Int32, _ args: repeat each A) throws {
        var idx = first - 1
        for arg in repeat each args {
            idx += 1
            let rc = arg.bind(to: stmt, at: idx, arena: &arena)
            guard rc == SQLITE_OK else { throw connection.error(rc, sql) }
        }
    }

    /// One parameter of a multi-row statement (`beginRows`). The hot statements bind column
    /// by column with this rather than a pack: a pack element is reached through its
    /// conformance's witness, and an optional's is generic (its value copied through value
    /// witnesses), where here the caller's concrete type is specialised. A first import's
    /// links bound for 2k instructions a user fewer.
    func bindRow<T: SQLBindable>(_ value: T?, at index: Int32) throws {
        let rc = value?.bind(to: stmt, at: index, arena: &arena) ?? sqlite3_bind_null(stmt, index)
        guard rc == SQLITE_OK else { throw connection.error(rc, sql) }
    }

    /// Parameters a call left out are NULL, as if the bindings had been cleared.
    private func nullFrom(_ first: Int32) {
        guard first <= parameterCount else { return }
        for i in first...parameterCount { sqlite3_bind_null(stmt, i) }
    }

    /// True when a row is available.
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw connection.error(rc, sql)
    }

    func stepToEnd() throws { while try step() {} }

    /// Binds, runs to the end, resets; returns the number of rows changed.
    func run(_ args: [SQLBindable?]) throws -> Int {
        try bind(args)
        return try runBound()
    }

    func first<T>(_ args: [SQLBindable?], map: (Row) throws -> T) throws -> T? {
        try bind(args)
        return try firstBound(map: map)
    }

    func all<T>(_ args: [SQLBindable?], map: (Row) throws -> T) throws -> [T] {
        try bind(args)
        return try allBound(map: map)
    }

    // The statement already bound: run it and reset it, whatever happens.

    func runBound() throws -> Int {
        defer { reset() }
        try stepToEnd()
        return Int(sqlite3_changes(connection.handle))
    }

    func firstBound<T>(map: (Row) throws -> T) throws -> T? {
        defer { reset() }
        return try step() ? try map(Row(stmt: stmt)) : nil
    }

    func allBound<T>(map: (Row) throws -> T) throws -> [T] {
        defer { reset() }
        var out: [T] = []
        while try step() { out.append(try map(Row(stmt: stmt))) }
        return out
    }

    // Bindings are not cleared (every bind sets all of them): sqlite3_clear_bindings was
    // 2% of a first import.
    func reset() { sqlite3_reset(stmt) }
}

/// The current row of a statement, read by column index.
struct Row {
    let stmt: OpaquePointer

    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
    func int(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
    func optionalInt(_ i: Int32) -> Int64? { isNull(i) ? nil : int(i) }
    func bool(_ i: Int32) -> Bool { int(i) != 0 }
    func text(_ i: Int32) -> String { optionalText(i) ?? "" }
    func optionalText(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, i) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, i))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    /// The column's text as bytes, valid until the statement steps or resets.
    func textBytes(_ i: Int32) -> UnsafeRawBufferPointer {
        guard let p = sqlite3_column_text(stmt, i) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, i)))
    }

    /// SQLite's BINARY collation: -1, 0 or 1 as `a` sorts before, with or after `b`.
    static func binaryOrder(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        let c = n == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, n)
        if c != 0 { return c < 0 ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// `binaryOrder` of a string's UTF-8 against column bytes.
    static func binaryOrder(_ s: String, _ b: UnsafeRawBufferPointer) -> Int {
        var s = s
        return s.withUTF8 { binaryOrder(UnsafeRawBufferPointer($0), b) }
    }

    /// `binaryOrder` of two strings' UTF-8 (a memcmp, where `utf8.lexicographicallyPrecedes`
    /// steps byte by byte through the view).
    static func binaryOrder(_ a: String, _ b: String) -> Int {
        var b = b
        return b.withUTF8 { binaryOrder(a, UnsafeRawBufferPointer($0)) }
    }

    /// A source column; the schema only ever stores registered desks' names.
    func sourceKind(_ i: Int32) -> SourceKind { SourceKind(rawValue: text(i)) ?? SourceKind.allCases[0] }
    func blob(_ i: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(stmt, i))
        guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}

/// A Swift value that can be bound as a statement parameter: each conformance binds itself
/// with the one SQLite call for its kind. Text and blobs are bound in place from a copy in
/// the statement's `arena` (`SQLITE_STATIC`), sparing SQLite a malloc, a copy and a free.
///
/// Binding itself, not an enum of values a shared switch then binds: with the enum, a
/// pack element's witness built a value (retaining its text) for the switch to take apart,
/// and a first import's binding cost three times what a direct call does (callgrind: 10k
/// instructions a user of 105k).
protocol SQLBindable {
    func bind(to stmt: OpaquePointer, at index: Int32, arena: inout BindArena) -> Int32
}

/// Where a statement keeps the bytes of its bound text and blobs until its next bind. A
/// bind that outgrows the current chunk takes another and keeps the first (SQLite holds
/// pointers into it); the next bind starts over in one chunk big enough for both.
struct BindArena {
    private var chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 1)
    private var used = 0
    private var retired: [UnsafeMutableRawBufferPointer] = []
    private var retiredBytes = 0

    /// Gives up what the previous bind held.
    mutating func begin() {
        if !retired.isEmpty {
            let total = retiredBytes + chunk.count
            for r in retired { r.deallocate() }
            retired.removeAll(keepingCapacity: true)
            retiredBytes = 0
            chunk.deallocate()
            chunk = .allocate(byteCount: total, alignment: 1)
        }
        used = 0
    }

    /// A copy of `bytes` that stays put until the next `begin`.
    mutating func place(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawPointer {
        if used + bytes.count > chunk.count {
            retired.append(chunk)
            retiredBytes += chunk.count
            chunk = .allocate(byteCount: max(bytes.count, chunk.count * 2), alignment: 1)
            used = 0
        }
        let at = chunk.baseAddress! + used
        if let base = bytes.baseAddress { at.copyMemory(from: base, byteCount: bytes.count) }
        used += bytes.count
        return UnsafeRawPointer(at)
    }

    func release() {
        for r in retired { r.deallocate() }
        chunk.deallocate()
    }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    // Prespecialized: the generic form copies the wrapped value through value witnesses.
    @_specialize(where Wrapped == String)
    @_specialize(where Wrapped == Int64)
    @_specialize(where Wrapped == Bool)
    func bind(to stmt: OpaquePointer, at index: Int32, arena: inout BindArena) -> Int32 {
        switch self {
        case .some(let v): v.bind(to: stmt, at: index, arena: &arena)
        case .none: sqlite3_bind_null(stmt, index)
        }
    }
}

extension Int64: SQLBindable {
    func bind(to stmt: OpaquePointer, at index: Int32, arena: inout BindArena) -> Int32 { sqlite3_bind_int64(stmt, index, self) }
}

extension Int: SQLBindable {
    func bind(to stmt: OpaquePointer, at index: Int32, arena: inout BindArena) -> Int32 {
        sqlite3_bind_int64(stmt, index, Int64(self))
    }
}

extension Bool: SQLBindable {
    func bind(to stmt: OpaquePointer, at index: Int32, arena: inout BindArena) -> Int32 {
        sqlite3_bind_int64(stmt, index, self ? 1 : 0)
    }
}

extension String: SQLBindable {
    func bind(to stmt: OpaquePointer, at index: Int32, arena: inout BindArena) -> Int32 {
        var s = self
        return s.withUTF8 { buf in
            let at = arena.place(UnsafeRawBufferPointer(buf))
            return sqlite3_bind_text(stmt, index, at.assumingMemoryBound(to: CChar.self), Int32(buf.count), nil)
        }
    }
}

extension Array: SQLBindable where Element == UInt8 {
    func bind(to stmt: OpaquePointer, at index: Int32, arena: inout BindArena) -> Int32 {
        withUnsafeBytes { buf in sqlite3_bind_blob(stmt, index, arena.place(buf), Int32(buf.count), nil) }
    }
}
