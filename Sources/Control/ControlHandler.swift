/// What the daemon plugs into the control server: it answers every command except the
/// two the server answers itself (`hello` and `subscribe`).
///
/// The server calls `handle` on a Swift concurrency task, never on its socket thread, so a
/// slow command (an `explain` that runs the model) delays only its own client. Each client
/// has at most one request in flight; its next line is read when the reply is queued. If the
/// client disconnects first, the task is cancelled (check `Task.isCancelled` in long work).
public protocol ControlHandler: Sendable {
    /// The command names `handle` understands. Other names are answered with
    /// `unknown_command` without calling `handle`, and `hello` lists these. Read once when
    /// the server starts; `hello` and `subscribe` are the server's and are never passed on.
    var commands: [String] { get }

    /// Answers one request with a result, or throws. A thrown `ControlError` is sent as is;
    /// any other error becomes an `internal` error carrying its description.
    /// `peer` says who asked, for per-command checks (e.g. only root may `config.set`).
    func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue
}
