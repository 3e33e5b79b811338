export default function Home() {
  return (
    <main>
      <h1>Engram</h1>
      <p>Live memory debugger for Differentiable Neural Computers.</p>
    </main>
  );
}
